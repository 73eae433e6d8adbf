/** The largest body a route takes unless it sets its own `bodyLimit` (an upload route allows more). */
export const BODY_LIMIT_BYTES = 1024 * 1024;
