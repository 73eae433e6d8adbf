import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { CatalogExamination, Department } from '@medical/contracts';
import type { App } from '@medical/platform/edge';
import type { GatewayConfig } from './config.ts';

/**
 * The staff console (web/, built by Vite into web/dist): its files at `/` (and its page at the
 * waiting room's paths), and the settings it starts from at `/console/config.json`. Both are
 * public: the sign-in screen is among them, and they hold nothing but the app and where to sign in.
 * Everything the console shows comes from the API, with the signed-in user's token.
 */

/** What the console reads before anything else: how to sign in, and the hospital's time zone. */
export type ConsoleSettings = {
  authMode: 'dev' | 'oidc';
  issuer: string;
  /** The console's own client at the identity provider (authorization code + PKCE); null without one. */
  clientId: string | null;
  scope: string;
  timeZone: string;
  /** The hospital's departments (code, Korean and English names), which the desk chooses from, and the one chosen when none is. */
  departments: readonly Department[];
  defaultDepartment: string;
  /** The examinations the doctor prescribes from (code, names, LOINC, default instructions, expected minutes). */
  examinations: readonly CatalogExamination[];
  /** The catalog's version: the console reloads its settings when a visit's code is not among them. */
  catalogVersion: string;
  /** The origin a ticket's QR code links to (TICKET_BASE_URL); null: the console's own. */
  ticketBaseUrl: string | null;
};

export const CONSOLE_CONFIG_PATH = '/console/config.json';

/**
 * The waiting room's pages (web/src/waitingRoom), which have real paths rather than the staff
 * screens' hash: a department's call screen on the waiting room's TV, and the patient's ticket
 * that the QR code printed on it links to (contracts queues.ts, TICKET_PAGE_PATH). Each is the
 * console's index.html, public as `/` is: the page holds nothing, and what it shows comes from
 * the API, with the display's token or the ticket's own.
 */
export const WAITING_ROOM_PAGES = ['/display/:department', '/ticket/:token'] as const;

/**
 * The console's Content Security Policy: its own scripts, styles and API only, attachments shown
 * from blob: URLs, never framed. It replaces, on the console's files only, the API's policy
 * (default-src 'none'), under which no page could run. In OIDC mode the sign-in leaves for the
 * provider by a full-page redirect (a navigation, which connect-src does not restrict), and the
 * token request goes to the provider's token endpoint, whose origin connect-src must allow.
 */
export function consolePolicy(config: GatewayConfig): string {
  const connect = ["'self'"];
  if (config.auth.mode === 'oidc') connect.push(new URL(config.auth.issuer).origin);
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    `connect-src ${connect.join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Serves the console and returns the route patterns to make public. Without a build (web/dist
 * missing: `npm run build:web` was not run) the API still works; `/` answers 404 and the gateway
 * says why at start.
 */
export async function registerConsole(app: App, config: GatewayConfig): Promise<string[]> {
  const { catalog } = config.console;
  // The catalog is read at each request: it changes with its file while the gateway runs.
  const settings = (): ConsoleSettings => ({
    authMode: config.auth.mode,
    issuer: config.auth.issuer,
    clientId: config.console.clientId ?? null,
    scope: config.console.scope,
    timeZone: config.console.timeZone,
    departments: catalog.departments,
    defaultDepartment: catalog.defaultDepartment,
    examinations: catalog.examinations,
    catalogVersion: catalog.version,
    ticketBaseUrl: config.console.ticketBaseUrl ?? null,
  });
  app.get(CONSOLE_CONFIG_PATH, async (_request, reply) => {
    reply.header('cache-control', 'no-cache');
    return settings();
  });

  const root = config.console.dir;
  if (!fs.existsSync(path.join(root, 'index.html'))) {
    app.log.warn({ consoleDir: root }, 'the staff console is not built (no index.html): run npm run build:web; the API works without it');
    return [CONSOLE_CONFIG_PATH];
  }
  const policy = consolePolicy(config);
  // The routes the static plugin registers (one per file it finds, and `/`): the public ones.
  const served = new Set<string>();
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      served.add(route.url);
    });
    scope.addHook('onSend', async (_request, reply) => {
      reply.header('content-security-policy', policy);
    });
    await scope.register(fastifyStatic, {
      root,
      // One route per file found now, not a catch-all: an unknown path stays the API's 404.
      wildcard: false,
      index: ['index.html'],
      // The cache-control header is set below, per file, instead of send's max-age=0 for all.
      cacheControl: false,
      // Vite names every asset by its content's hash, so a cached one is never stale; the page
      // that names them must be asked for again each time, or a new release would not load.
      setHeaders: (reply, filePath) => {
        reply.header('cache-control', filePath.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
    for (const page of WAITING_ROOM_PAGES) scope.get(page, (_request, reply) => reply.sendFile('index.html'));
  });
  app.log.info({ consoleDir: root, routes: served.size }, 'serving the staff console at /');
  return [...served, CONSOLE_CONFIG_PATH];
}
