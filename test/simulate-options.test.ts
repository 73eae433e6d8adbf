import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { REPOSITORY_ROOT } from '../scripts/lib/processes.ts';
import { startClock } from '../scripts/lib/simulation/clock.ts';
import { newPatient } from '../scripts/lib/simulation/people.ts';
import { seededRandom } from '../scripts/lib/simulation/random.ts';
import { DEFAULT_GATEWAY, parseOptions, UsageError } from '../scripts/simulate.ts';

/**
 * `npm run simulate` (scripts/simulate.ts): its options, and the seeded random numbers that make a
 * run repeatable. The run itself, against a running system, is test/e2e/simulate.test.ts.
 */

describe('options', () => {
  test('defaults: 2/min for 60 simulated minutes in internal medicine, in real time, against npm start', () => {
    const options = parseOptions([], () => 1234);
    assert.deepEqual(options, { ratePerMinute: 2, departments: ['internal-medicine'], minutes: 60, speed: 1, seed: 1234, gateway: DEFAULT_GATEWAY });
  });

  test("the brief's command line", () => {
    const options = parseOptions(['--rate', '20/min', '--departments', 'internal-medicine,surgery', '--minutes', '10', '--speed', '30', '--seed', '7']);
    assert.deepEqual(options, { ratePerMinute: 20, departments: ['internal-medicine', 'surgery'], minutes: 10, speed: 30, seed: 7, gateway: DEFAULT_GATEWAY });
  });

  test('a rate per minute, bare or per hour; a gateway without its trailing slash; --seed=0', () => {
    const options = parseOptions(['--rate=90/h', '--gateway', 'https://gateway.hospital.example/api/', '--seed=0', '--speed', '0.5']);
    assert.ok(options !== 'help');
    assert.equal(options.ratePerMinute, 1.5);
    assert.equal(options.gateway, 'https://gateway.hospital.example/api');
    assert.equal(options.seed, 0);
    assert.equal(options.speed, 0.5);
    assert.ok(parseOptions(['--rate', '3']) !== 'help' && (parseOptions(['--rate', '3']) as { ratePerMinute: number }).ratePerMinute === 3);
  });

  test('--help, or -h', () => {
    assert.equal(parseOptions(['--help']), 'help');
    assert.equal(parseOptions(['-h', '--rate', '3/min']), 'help');
  });

  test('a seed is drawn when none is given, and kept in the options (the summary prints it)', () => {
    let drawn = 0;
    const options = parseOptions([], () => (drawn += 1, 99));
    assert.equal(drawn, 1);
    assert.ok(options !== 'help' && options.seed === 99);
  });

  const wrong: Array<[string[], RegExp]> = [
    [['--rate', 'fast'], /^--rate takes arrivals per minute such as 3\/min .*"fast"/],
    [['--rate', '0/min'], /^--rate /],
    [['--rate', '3/day'], /^--rate /],
    [['--rate', '601/min'], /^--rate .*at most 600/],
    [['--minutes', '-5'], /^--minutes /],
    [['--minutes', '0'], /^--minutes /],
    [['--minutes', '1441'], /^--minutes /],
    [['--speed', 'x'], /^--speed /],
    [['--speed', '0'], /^--speed /],
    [['--seed', '1.5'], /^--seed /],
    [['--seed', '4294967296'], /^--seed /],
    [['--seed', '-1'], /--seed/],
    [['--departments', 'Internal Medicine'], /^--departments .*"Internal Medicine" is not one/],
    [['--departments', 'surgery,,internal-medicine'], /^--departments /],
    [['--departments', 'surgery,surgery'], /^--departments names a department twice/],
    [['--gateway', 'ftp://host'], /^--gateway /],
    [['--gateway', 'not a url'], /^--gateway /],
    [['--speeed', '3'], /^unknown option --speeed/],
    [['--rate'], /^--rate needs a value/],
    [['surgery'], /^unexpected argument surgery/],
  ];
  for (const [args, message] of wrong) {
    test(`refuses ${args.join(' ')}, in one line naming the option`, () => {
      assert.throws(
        () => parseOptions(args, () => 1),
        (error: unknown) => {
          assert.ok(error instanceof UsageError, `a UsageError, not ${String(error)}`);
          assert.match(error.message, message);
          assert.doesNotMatch(error.message, /\n/);
          return true;
        },
      );
    });
  }

  test('the command: a wrong option is one line on stderr and exit code 2; --help prints the usage and exits 0', () => {
    const script = path.join(REPOSITORY_ROOT, 'scripts', 'simulate.ts');
    const wrongRun = spawnSync(process.execPath, [script, '--rate', 'fast'], { cwd: REPOSITORY_ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.equal(wrongRun.status, 2, wrongRun.stderr);
    assert.equal(wrongRun.stdout, '');
    assert.match(wrongRun.stderr, /^simulate: --rate takes arrivals per minute such as 3\/min .*\n$/);
    const help = spawnSync(process.execPath, [script, '--help'], { cwd: REPOSITORY_ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^usage: npm run simulate -- /);
    assert.match(help.stdout, /SIMULATE_TOKEN/, 'the usage says how to run with a hospital identity provider');
  });

  test('a gateway that does not answer: exit code 1, saying where it looked', () => {
    const script = path.join(REPOSITORY_ROOT, 'scripts', 'simulate.ts');
    // Port 9 (discard) is closed on a test machine: the connection is refused at once.
    const run = spawnSync(process.execPath, [script, '--gateway', 'http://127.0.0.1:9', '--minutes', '1'], { cwd: REPOSITORY_ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /^simulate: the gateway does not answer at http:\/\/127\.0\.0\.1:9 /m);
  });
});

describe('the seeded random numbers', () => {
  const draws = (seed: number, count = 20) => {
    const random = seededRandom(seed);
    return Array.from({ length: count }, () => random.next());
  };

  test('the same seed gives the same numbers; another seed, other numbers', () => {
    assert.deepEqual(draws(7), draws(7));
    assert.notDeepEqual(draws(7), draws(8));
    assert.notDeepEqual(draws(0), draws(1));
    for (const value of draws(7, 1_000)) assert.ok(value >= 0 && value < 1, `${value} in [0, 1)`);
  });

  test("a visit's generator depends on the seed and its number, not on what was drawn before it is asked for", () => {
    const early = seededRandom(7).fork(42);
    const late = seededRandom(7);
    for (let i = 0; i < 100; i++) late.next();
    late.fork(3);
    const lateFork = late.fork(42);
    assert.deepEqual(Array.from({ length: 10 }, () => early.next()), Array.from({ length: 10 }, () => lateFork.next()));
    const other = seededRandom(7).fork(43);
    assert.notEqual(seededRandom(7).fork(42).next(), other.next());
    assert.notEqual(seededRandom(7).fork(1, 'arrivals').next(), seededRandom(7).fork(1).next(), 'the kinds of streams differ');
    assert.notEqual(seededRandom(8).fork(42).next(), seededRandom(7).fork(42).next());
  });

  test('the same seed makes the same patients (a second run meets the first run\'s patients again)', () => {
    const patients = (seed: number) => Array.from({ length: 5 }, (_, i) => newPatient(seededRandom(seed).fork(i + 1)));
    assert.deepEqual(patients(7), patients(7));
    assert.notDeepEqual(patients(7), patients(8));
    for (const patient of patients(7)) {
      assert.match(patient.name, /^[가-힣]{3}$/);
      assert.match(patient.birthDate, /^\d{4}-\d{2}-\d{2}$/);
      assert.ok(!Number.isNaN(Date.parse(patient.birthDate)));
    }
  });

  test('Poisson arrivals: the gaps average 60/rate seconds', () => {
    const random = seededRandom(11);
    const mean = 20;
    const samples = Array.from({ length: 20_000 }, () => random.exponential(mean));
    const average = samples.reduce((sum, value) => sum + value, 0) / samples.length;
    assert.ok(Math.abs(average - mean) < mean * 0.03, `average gap ${average}, expected about ${mean}`);
    assert.ok(samples.every((value) => value >= 0));
  });

  test('chances, whole numbers, picks and durations stay in their bounds and near their shares', () => {
    const random = seededRandom(3);
    const n = 20_000;
    let hits = 0;
    for (let i = 0; i < n; i++) if (random.chance(0.05)) hits += 1;
    assert.ok(Math.abs(hits / n - 0.05) < 0.01, `chance(0.05) came true ${hits} times in ${n}`);
    const whole = Array.from({ length: 1_000 }, () => random.integer(1, 2));
    assert.deepEqual([...new Set(whole)].sort(), [1, 2], 'both ends are included');
    const durations = Array.from({ length: 5_000 }, () => random.around(6, { min: 2, max: 20 }));
    assert.ok(durations.every((value) => value >= 2 && value <= 20));
    const sorted = [...durations].sort((a, b) => a - b);
    assert.ok(Math.abs(sorted[2_500]! - 6) < 0.3, `the median duration ${sorted[2_500]} is about 6`);
    assert.throws(() => random.pick([]), RangeError);
    assert.equal(random.pick(['only']), 'only');
  });
});

describe('the simulated clock', () => {
  test('speed simulated seconds pass per real second, and a sleep ends early when the run stops', async () => {
    let real = 1_000_000;
    const clock = startClock(30, () => real);
    real += 2_000;
    assert.equal(clock.elapsedMs(), 60_000);
    assert.equal(clock.label(), '00:01');
    assert.equal(clock.realMs(6 * 60_000), 12_000);
    const stop = new AbortController();
    const started = Date.now();
    const sleeping = clock.sleep(60 * 60_000, stop.signal);
    stop.abort();
    assert.equal(await sleeping, false);
    assert.ok(Date.now() - started < 1_000);
    assert.equal(await startClock(600).sleep(60_000), true, 'a simulated minute at 600x is 100 real ms');
  });
});
