import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { postgresPids, type Infrastructure } from './infrastructure.ts';
import { round } from '../../scripts/lib/stats.ts';

/**
 * CPU time from /proc between two readings: the whole machine's (/proc/stat), each named
 * process's (/proc/<pid>/stat), the bench process's own (process.cpuUsage), and everything else
 * (Kafka, PostgreSQL, nginx, the kernel) as the rest of the machine's busy time. Both as shares
 * of a core and as CPU milliseconds, so that a scenario can divide them by the work it did.
 *
 * Everything else is split further: on the production profile the Kafka broker and PostgreSQL's
 * processes that work for the system (bench/lib/infrastructure.ts), the kernel's interrupt work
 * (irq and softirq in /proc/stat: the loopback network above all, charged to no process), and
 * what is left, unattributed: other processes on the machine, which a machine shared with other
 * work has plenty of, and the few ticks of processes that ended during the reading.
 */

/** The kernel's clock ticks per second, the unit of /proc's CPU times (USER_HZ, 100 nearly everywhere). */
const TICKS_PER_SECOND = (() => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

const ticksToMs = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;

/** Ticks of the whole machine from /proc/stat: busy (this machine's work), its interrupts, and in all. */
function machineTicks(): { busy: number; interrupts: number; total: number } {
  // user nice system idle iowait irq softirq steal (guest time is inside user and nice already).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fs
    .readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  // Steal is the hypervisor's time for other guests: neither busy nor idle here, but wall time.
  return { busy: user + nice + system + irq + softirq, interrupts: irq + softirq, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces), or null when it is gone. */
function statFields(pid: number | string): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Ticks of CPU (user + system) a process has used, or null when it is gone. */
function processTicks(pid: number): number | null {
  // utime and stime are the 14th and 15th fields of the line, the 12th and 13th after the name.
  const fields = statFields(pid);
  return fields ? Number(fields[11]) + Number(fields[12]) : null;
}

/** Ticks per pid of the infrastructure's processes now (bench/lib/infrastructure.ts): null when it is not on this machine. */
function infrastructureTicks(infrastructure: Infrastructure | undefined): { kafka: number | null; postgres: Map<number, number> | null } {
  const kafka = infrastructure?.kafkaPid ? processTicks(infrastructure.kafkaPid) : null;
  if (!infrastructure?.postgres) return { kafka, postgres: null };
  const postgres = new Map<number, number>();
  for (const pid of postgresPids(infrastructure.postgres)) {
    const ticks = processTicks(pid);
    if (ticks !== null) postgres.set(pid, ticks);
  }
  return { kafka, postgres };
}

/** What a reading covers: the named processes (the services) and, on the production profile, the infrastructure. */
export type CpuSubjects = { processes: Record<string, number>; infrastructure?: Infrastructure };

export type CpuFigures = {
  /** The share of the machine's CPU time that was busy (all cores: 100 means every core busy). */
  machineBusyPct: number;
  /** Per named process, its CPU time as a share of one core (100: one core busy all along). */
  processPctOfOneCore: Record<string, number | null>;
  /** The bench process itself (the load generator). */
  benchPctOfOneCore: number;
  /** Everything else (Kafka, PostgreSQL, nginx, the kernel), as a share of one core. */
  othersPctOfOneCore: number;
  /** Of everything else: the Kafka broker, PostgreSQL, the kernel's interrupts, and the rest (other processes). */
  kafkaPctOfOneCore: number;
  postgresPctOfOneCore: number;
  interruptsPctOfOneCore: number;
  unattributedPctOfOneCore: number;
  /** How long the reading covered. */
  wallMs: number;
  /** Busy CPU time of the whole machine, all cores, in ms. */
  machineCpuMs: number;
  /** The named processes' CPU time together, in ms. */
  processesCpuMs: number;
  processCpuMs: Record<string, number | null>;
  benchCpuMs: number;
  othersCpuMs: number;
  /** The broker listening on KAFKA_BROKERS' port (0 when it is not on this machine or not the system's: the embedded profile). */
  kafkaCpuMs: number;
  /** PostgreSQL's processes for the system's database and the whole server (0 likewise). */
  postgresCpuMs: number;
  interruptsCpuMs: number;
  /** Busy time no process of the system, of its infrastructure or of the bench used, nor interrupts: other work on the machine. */
  unattributedCpuMs: number;
};

/** One reading of the counters, to be compared with a later one (cpuBetween). */
export type CpuReading = {
  subjects: CpuSubjects;
  machine: { busy: number; interrupts: number; total: number };
  perProcess: Record<string, number | null>;
  infrastructure: ReturnType<typeof infrastructureTicks>;
  bench: NodeJS.CpuUsage;
};

export function readCpu(subjects: CpuSubjects): CpuReading {
  return {
    subjects,
    machine: machineTicks(),
    perProcess: Object.fromEntries(Object.entries(subjects.processes).map(([name, pid]) => [name, processTicks(pid)])),
    infrastructure: infrastructureTicks(subjects.infrastructure),
    bench: process.cpuUsage(),
  };
}

/** Ticks between two readings of the PostgreSQL processes: a process that started meanwhile counts from its start. */
function postgresTicksBetween(start: Map<number, number> | null, end: Map<number, number> | null): number | null {
  if (!start || !end) return null;
  let ticks = 0;
  for (const [pid, to] of end) ticks += to - (start.get(pid) ?? 0);
  return Math.max(0, ticks);
}

export function cpuBetween(start: CpuReading, end: CpuReading = readCpu(start.subjects)): CpuFigures {
  const cores = os.cpus().length;
  const total = end.machine.total - start.machine.total;
  const busy = end.machine.busy - start.machine.busy;
  // The machine's total ticks run `cores` times as fast as the wall clock.
  const wallMs = ticksToMs(total) / cores;
  const pctOfOneCore = (ms: number) => (wallMs > 0 ? (ms / wallMs) * 100 : 0);
  const processCpuMs: Record<string, number | null> = {};
  const processPctOfOneCore: Record<string, number | null> = {};
  let processesCpuMs = 0;
  for (const name of Object.keys(start.subjects.processes)) {
    const from = start.perProcess[name];
    const to = end.perProcess[name];
    if (from === null || from === undefined || to === null || to === undefined) {
      processCpuMs[name] = null;
      processPctOfOneCore[name] = null;
      continue;
    }
    const ms = ticksToMs(to - from);
    processesCpuMs += ms;
    processCpuMs[name] = round(ms);
    processPctOfOneCore[name] = round(pctOfOneCore(ms));
  }
  const benchCpuMs = (end.bench.user - start.bench.user + end.bench.system - start.bench.system) / 1000;
  const machineCpuMs = ticksToMs(busy);
  const othersCpuMs = Math.max(0, machineCpuMs - processesCpuMs - benchCpuMs);
  const kafkaTicks = start.infrastructure.kafka !== null && end.infrastructure.kafka !== null ? end.infrastructure.kafka - start.infrastructure.kafka : null;
  const postgresTicks = postgresTicksBetween(start.infrastructure.postgres, end.infrastructure.postgres);
  // Not measured (not on this machine, or not the production profile) counts as none of the system's.
  const kafkaCpuMs = ticksToMs(kafkaTicks ?? 0);
  const postgresCpuMs = ticksToMs(postgresTicks ?? 0);
  const interruptsCpuMs = ticksToMs(end.machine.interrupts - start.machine.interrupts);
  const unattributedCpuMs = Math.max(0, othersCpuMs - kafkaCpuMs - postgresCpuMs - interruptsCpuMs);
  return {
    machineBusyPct: round(total > 0 ? (busy / total) * 100 : 0),
    processPctOfOneCore,
    benchPctOfOneCore: round(pctOfOneCore(benchCpuMs)),
    othersPctOfOneCore: round(pctOfOneCore(othersCpuMs)),
    kafkaPctOfOneCore: round(pctOfOneCore(kafkaCpuMs)),
    postgresPctOfOneCore: round(pctOfOneCore(postgresCpuMs)),
    interruptsPctOfOneCore: round(pctOfOneCore(interruptsCpuMs)),
    unattributedPctOfOneCore: round(pctOfOneCore(unattributedCpuMs)),
    wallMs: round(wallMs),
    machineCpuMs: round(machineCpuMs),
    processesCpuMs: round(processesCpuMs),
    processCpuMs,
    benchCpuMs: round(benchCpuMs),
    othersCpuMs: round(othersCpuMs),
    kafkaCpuMs: round(kafkaCpuMs),
    postgresCpuMs: round(postgresCpuMs),
    interruptsCpuMs: round(interruptsCpuMs),
    unattributedCpuMs: round(unattributedCpuMs),
  };
}

/** The system's CPU: its services, Kafka, PostgreSQL and the kernel's interrupts, without the bench and other work on the machine. */
export function systemCpuMs(cpu: CpuFigures): number {
  return cpu.processesCpuMs + cpu.kafkaCpuMs + cpu.postgresCpuMs + cpu.interruptsCpuMs;
}

/** CPU use between start and stop, of the machine and of the given processes. */
export function cpuMeter(subjects: CpuSubjects): { stop(): CpuFigures } {
  const start = readCpu(subjects);
  return { stop: () => cpuBetween(start) };
}

/** "machine 98% busy; of one core: gateway 20%, ..., the bench 20%, everything else 95% (Kafka ..., ...)". */
export function describeCpu(cpu: CpuFigures): string {
  const services = Object.entries(cpu.processPctOfOneCore).map(([name, pct]) => `${name} ${pct}%`).join(', ');
  return (
    `machine ${cpu.machineBusyPct}% busy; of one core: ${services}, the bench ${cpu.benchPctOfOneCore}%, everything else ${cpu.othersPctOfOneCore}% ` +
    `(Kafka ${cpu.kafkaPctOfOneCore}%, PostgreSQL ${cpu.postgresPctOfOneCore}%, interrupts ${cpu.interruptsPctOfOneCore}%, unattributed ${cpu.unattributedPctOfOneCore}%)`
  );
}
