/**
 * The values the services' decider tests share (services/<name>/test/domain.test.ts): the
 * instants of one visit and the prescriptions of its diagnosis.
 */

/** A visit's instants: T0 at 09:00, then ten minutes apart. */
export const T0 = '2025-03-01T09:00:00.000Z';
export const T1 = '2025-03-01T09:10:00.000Z';
export const T2 = '2025-03-01T09:20:00.000Z';
export const T3 = '2025-03-01T09:30:00.000Z';

/** Prescription ids (UUID v4, as the diagnosis service makes them). */
export const P1 = '11111111-1111-4111-8111-111111111111';
export const P2 = '22222222-2222-4222-8222-222222222222';
export const P3 = '33333333-3333-4333-8333-333333333333';
