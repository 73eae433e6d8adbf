import { setMaxListeners } from 'node:events';
import { parseArgs } from 'node:util';
import { isDepartmentCode } from '@medical/contracts/departments';
import { MINUTE, startClock } from './lib/simulation/clock.ts';
import { admitArrivals } from './lib/simulation/desk.ts';
import { doctorWorks } from './lib/simulation/doctor.ts';
import { examinerWorks } from './lib/simulation/examiner.ts';
import { devSignIn, fixedToken, gatewayClient, type GatewayClient, type StaffUser, type Tokens } from './lib/simulation/http.ts';
import { freshSeed, seededRandom } from './lib/simulation/random.ts';
import { formatSummary, openVisits, progressLine, type Summary } from './lib/simulation/summary.ts';
import { compareWaits } from './lib/simulation/waits.ts';
import {
  departmentName,
  doctorOf,
  doorbell,
  emptyTally,
  examinationDepartments,
  isSettled,
  type Catalog,
  type Simulation,
  type SimulationOptions,
} from './lib/simulation/world.ts';

/**
 * `npm run simulate`: realistic visits driven through the gateway as the staff would drive them,
 * with the real HTTP API only, so that the waiting room's board, call screens and waiting-time
 * charts can be watched filling up, and their figures checked against what happened. The usage
 * below says what it does; scripts/lib/simulation/ holds its parts (the seeded random numbers,
 * the simulated clock, the desk's, the doctors' and the examiners' loops, the client, the summary).
 */

export const DEFAULT_GATEWAY = 'http://127.0.0.1:8088';

export const USAGE = `usage: npm run simulate -- [--rate 2/min] [--departments internal-medicine] [--minutes 60]
                             [--speed 1] [--seed N] [--gateway ${DEFAULT_GATEWAY}]

Drives realistic outpatient visits through the gateway with its HTTP API, as the staff would: the
desk registers the arriving patients (a third of them returning ones, found in the registry) and
their visits; one doctor per department calls them in queue-number order (some do not come, and
are called again), prescribes examinations, rejects or completes; one examiner per examination
department calls and performs them; the desk confirms the outcomes. Then it prints, per
department, what it did, and its own measure of each wait stage beside the read model's
(GET /patientManagements/waiting-times): the counts must agree.

  --rate N/min         arrivals per minute over all departments (Poisson; N/h for per hour); default 2/min
  --departments a,b    department codes of the hospital's catalog; default internal-medicine
  --minutes M          minutes of arrivals, in simulated time; default 60. The visits still open then
                       may go on for as many simulated minutes again, then the run stops
  --speed S            simulated seconds per real second; default 1 (real time); 60 runs an hour in a minute
  --seed N             the seed of the random numbers (0 to 4294967295), to repeat a run: the same
                       arrivals, patients and decisions; default a random one, printed in the summary
  --gateway URL        the gateway; default ${DEFAULT_GATEWAY} (npm start's)
  --help               this text

Signing in: with the gateway's development identity provider (npm start, AUTH_MODE=dev) it signs in
as the demo users (password "demo", or DEV_PASSWORD): receptionist, doctor (internal medicine),
doctor-surgery (surgery), admin for a department without a demo doctor, examiner, and manager for
the waiting times; it signs in again before a token expires. With AUTH_MODE=oidc, set
SIMULATE_TOKEN to an admin's bearer token of the hospital's identity provider: it is used for every
role.

A fast run makes many requests per real minute as one user: the gateway's RATE_LIMIT_PER_MINUTE
(600 by default) may answer 429, which the simulation waits out and counts; raise it, or lower
--speed. Compare on a system nobody else uses meanwhile: the read model counts every visit.
Progress goes to stderr, one line per simulated minute; the summary to stdout.
Exit codes: 0 every answer as expected and the counts agree, 1 otherwise, 2 a wrong option.`;

/** A wrong option or a department the catalog does not have: one line, exit code 2. */
export class UsageError extends Error {}

const LIMITS = { rate: 600, minutes: 24 * 60, speed: 3_600 } as const;

function positiveNumber(name: keyof typeof LIMITS, raw: string, what: string): number {
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !(value > 0) || value > LIMITS[name]) {
    throw new UsageError(`--${name} takes ${what} above 0 and at most ${LIMITS[name]}, not "${raw}"`);
  }
  return value;
}

/** `3/min`, `3` (per minute) or `90/h`: arrivals per minute. */
function rateOption(raw: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(min|h))?\s*$/.exec(raw);
  const perMinute = match ? Number(match[1]) / (match[2] === 'h' ? 60 : 1) : Number.NaN;
  if (!(perMinute > 0) || perMinute > LIMITS.rate) throw new UsageError(`--rate takes arrivals per minute such as 3/min (above 0, at most ${LIMITS.rate}/min), not "${raw}"`);
  return perMinute;
}

function departmentsOption(raw: string): string[] {
  const codes = raw.split(',').map((code) => code.trim());
  const wrong = codes.find((code) => !isDepartmentCode(code));
  if (wrong !== undefined) throw new UsageError(`--departments takes department codes separated by commas, such as internal-medicine,surgery; "${wrong}" is not one`);
  if (new Set(codes).size !== codes.length) throw new UsageError(`--departments names a department twice: ${raw}`);
  return codes;
}

function seedOption(raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value > 4_294_967_295) throw new UsageError(`--seed takes a whole number from 0 to 4294967295, not "${raw}"`);
  return value;
}

function gatewayOption(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--gateway takes an http(s) URL, not "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--gateway takes an http(s) URL, not "${raw}"`);
  return url.href.replace(/\/+$/, '');
}

/** node:util's parseArgs errors, in one line that names the option. */
function parseError(error: unknown): UsageError {
  const { code, message } = error as { code?: string; message: string };
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return new UsageError(`unknown option ${option ?? message} (see --help)`);
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return new UsageError(`unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''}: every setting is an option (see --help)`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return new UsageError(`${option ?? 'an option'} needs a value (see --help)`);
  return new UsageError(message.split('\n')[0]!);
}

/** The run's settings from the command line, or 'help'. Throws a UsageError naming the wrong option. */
export function parseOptions(args: string[], seed: () => number = freshSeed): SimulationOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        rate: { type: 'string' },
        departments: { type: 'string' },
        minutes: { type: 'string' },
        speed: { type: 'string' },
        seed: { type: 'string' },
        gateway: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw parseError(error);
  }
  if (values.help) return 'help';
  const text = (name: string) => values[name] as string | undefined;
  return {
    ratePerMinute: rateOption(text('rate') ?? '2/min'),
    departments: departmentsOption(text('departments') ?? 'internal-medicine'),
    minutes: positiveNumber('minutes', text('minutes') ?? '60', 'simulated minutes'),
    speed: positiveNumber('speed', text('speed') ?? '1', 'simulated seconds per real second'),
    seed: text('seed') === undefined ? seed() : seedOption(text('seed')!),
    gateway: gatewayOption(text('gateway') ?? DEFAULT_GATEWAY),
  };
}

// ---- before the run: the catalog and the tokens ------------------------------------------------

type ConsoleSettings = Catalog & { authMode: 'dev' | 'oidc' };

/** The hospital's catalog and how the gateway signs in, as the console reads them at start (public). */
async function consoleSettings(gateway: string): Promise<ConsoleSettings> {
  let response: Response;
  try {
    response = await fetch(`${gateway}/console/config.json`, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    throw new Error(`the gateway does not answer at ${gateway} (${cause?.code ?? (error as Error).message}); start the system (npm start) or pass --gateway`);
  }
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${gateway}/console/config.json answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as ConsoleSettings;
}

function checkDepartments(options: SimulationOptions, catalog: Catalog): void {
  const known = catalog.departments.map((department) => department.code);
  const unknown = options.departments.filter((code) => !known.includes(code));
  if (unknown.length > 0) throw new UsageError(`--departments: ${unknown.join(', ')} is not a department of the hospital's catalog (${known.join(', ')})`);
  if (catalog.examinations.length === 0) throw new Error("the hospital's catalog has no examinations to prescribe");
}

function tokensFor(options: SimulationOptions, settings: ConsoleSettings, env: NodeJS.ProcessEnv, log: (line: string) => void): Tokens {
  const token = env.SIMULATE_TOKEN?.trim().replace(/^Bearer\s+/i, '');
  if (token) return fixedToken(token);
  if (settings.authMode === 'oidc') {
    throw new Error("the gateway signs in with the hospital's identity provider (AUTH_MODE=oidc): set SIMULATE_TOKEN to an admin's bearer token");
  }
  return devSignIn(options.gateway, env.DEV_PASSWORD?.trim() || 'demo', log);
}

/** Signs every role in before the first arrival: a wrong password stops the run at once, not in its middle. */
async function signInEveryone(tokens: Tokens, departments: readonly string[]): Promise<void> {
  const users = new Set<StaffUser>(['receptionist', 'examiner', 'manager', ...departments.map(doctorOf)]);
  for (const user of users) await tokens.tokenFor(user);
}

// ---- the run ---------------------------------------------------------------------------------

function newSimulation(options: SimulationOptions, catalog: Catalog, gateway: GatewayClient, signal: AbortSignal): Simulation & { idle(): Promise<void> } {
  const running = new Set<Promise<void>>();
  const sim: Simulation & { idle(): Promise<void> } = {
    options,
    clock: startClock(options.speed),
    gateway,
    catalog,
    random: seededRandom(options.seed),
    signal,
    bell: doorbell(),
    visits: [],
    patients: new Map(),
    arrivals: 0,
    registering: 0,
    departments: new Map(options.departments.map((code) => [code, emptyTally()])),
    rooms: new Map(),
    waits: [],
    background(work: () => Promise<void>) {
      // A failure that is no HTTP answer (a bug, an answer that is not JSON) is an error of the run too.
      const task: Promise<void> = work()
        .catch((error: unknown) => gateway.report(`${(error as Error).stack ?? String(error)}`))
        .finally(() => running.delete(task));
      running.add(task);
    },
    idle: async () => {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
  return sim;
}

/**
 * After the arrivals, the visits in progress go on until every one has ended (confirmed,
 * cancelled, or failed) or as many simulated minutes have passed again as the arrivals took.
 */
async function drain(sim: Simulation): Promise<void> {
  const deadline = 2 * sim.options.minutes * MINUTE;
  const drained = () => sim.registering === 0 && sim.visits.every(isSettled);
  while (!sim.signal.aborted && !drained() && sim.clock.elapsedMs() < deadline) {
    await sim.bell.wait(sim.clock.realMs(Math.min(MINUTE / 2, deadline - sim.clock.elapsedMs())), sim.signal);
  }
}

async function run(sim: Simulation & { idle(): Promise<void> }, stop: AbortController, log: (line: string) => void): Promise<void> {
  const progress = setInterval(() => log(progressLine(sim)), sim.clock.realMs(MINUTE));
  const staff = [
    ...sim.options.departments.map((department, i) => doctorWorks(sim, department, `진료실 ${i + 1}`)),
    ...examinationDepartments(sim.catalog, sim.options.departments).map((department) => examinerWorks(sim, department, `${departmentName(sim, department)} 1`)),
  ];
  try {
    await admitArrivals(sim);
    await drain(sim);
  } finally {
    stop.abort();
    await Promise.allSettled(staff);
    await sim.idle();
    clearInterval(progress);
  }
  // A loop that failed outright (not an answer: a bug) is an error of the run.
  for (const outcome of await Promise.allSettled(staff)) if (outcome.status === 'rejected') sim.gateway.report(String((outcome.reason as Error).stack ?? outcome.reason));
}

export async function simulate(options: SimulationOptions, env: NodeJS.ProcessEnv, log: (line: string) => void, interrupt?: AbortSignal): Promise<Summary> {
  const settings = await consoleSettings(options.gateway);
  checkDepartments(options, settings);
  const tokens = tokensFor(options, settings, env, log);
  await signInEveryone(tokens, options.departments);
  const gateway = gatewayClient(options.gateway, tokens, log);
  const startedAt = Date.now();
  const stop = new AbortController();
  // Every sleeping loop and background task listens to it: far more than the default warning's ten.
  setMaxListeners(0, stop.signal);
  interrupt?.addEventListener('abort', () => stop.abort(), { once: true });
  const sim = newSimulation(options, settings, gateway, stop.signal);
  log(`simulate: seed ${options.seed}; ${options.ratePerMinute}/min for ${options.minutes} simulated minutes at ${options.speed}x, ${options.departments.join(', ')}`);
  await run(sim, stop, log);
  const simulatedMinutes = sim.clock.elapsedMs() / MINUTE;
  const from = new Date(Math.min(startedAt, sim.firstReceivedAt ?? startedAt)).toISOString();
  const departments = [...sim.departments.keys(), ...examinationDepartments(settings, options.departments)];
  const comparison = await compareWaits(gateway, sim.waits, options.speed, from, departments);
  return {
    options,
    arrivals: sim.arrivals,
    simulatedMinutes,
    interrupted: interrupt?.aborted ?? false,
    departments: [...sim.departments],
    rooms: [...sim.rooms],
    open: openVisits(sim),
    comparison,
    problems: gateway.problems,
    ok: gateway.problems.count === 0 && comparison.answered && comparison.agree,
  };
}

async function main(): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const options = parseOptions(process.argv.slice(2));
    if (options === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    // Ctrl-C ends the run early, with its summary; a second one ends the process.
    const interrupt = new AbortController();
    process.once('SIGINT', () => {
      log('simulate: interrupted; stopping the staff and comparing what happened so far (Ctrl-C again to quit)');
      interrupt.abort();
      process.once('SIGINT', () => process.exit(130));
    });
    const summary = await simulate(options, process.env, log, interrupt.signal);
    process.stdout.write(formatSummary(summary));
    return summary.ok ? 0 : 1;
  } catch (error) {
    log(`simulate: ${error instanceof UsageError ? error.message : ((error as Error).message ?? String(error))}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main) process.exitCode = await main();
