import { performance } from 'node:perf_hooks';
import { SERVICE_NAMES, type ServiceName } from '../../scripts/lib/processes.ts';
import type { TestSystem } from '../../test/e2e/helpers.ts';
import { pssMb, round, rssMb } from '../lib/tools.ts';

/** Scenario 5: the resident set of each service process, idle and at its peak under load. */

export type ServiceMemory = {
  idleMb: number | null;
  /** The proportional set size idle: the resident set with pages shared by several processes (the node binary) divided among them. */
  idlePssMb: number | null;
  idleHeapUsedMb: number | null;
  loadMb: number | null;
  loadScenario: string | null;
};

export type MemoryFigures = Record<ServiceName, ServiceMemory>;

/** The V8 heap in use (MB) as the service's own /metrics reports it (prom-client's default metrics). */
export async function heapUsedMb(bench: TestSystem): Promise<Record<ServiceName, number | null>> {
  const entries = await Promise.all(
    SERVICE_NAMES.map(async (name): Promise<[ServiceName, number | null]> => {
      try {
        const text = await (await fetch(`${bench.system.services[name].url}/metrics`)).text();
        const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([0-9.e+]+)/m.exec(text);
        return [name, match ? round(Number(match[1]) / 2 ** 20) : null];
      } catch {
        return [name, null];
      }
    }),
  );
  return Object.fromEntries(entries) as Record<ServiceName, number | null>;
}

export function memoryReading(bench: TestSystem, measure: (pid: number) => number | null = rssMb): Record<ServiceName, number | null> {
  return Object.fromEntries(SERVICE_NAMES.map((name) => [name, measure(bench.system.services[name].pid)])) as Record<ServiceName, number | null>;
}

/** The idle figures: every service's resident set, proportional set and heap, before any load. */
export async function idleMemory(bench: TestSystem): Promise<Record<ServiceName, Pick<ServiceMemory, 'idleMb' | 'idlePssMb' | 'idleHeapUsedMb'>>> {
  const rss = memoryReading(bench);
  const pss = memoryReading(bench, pssMb);
  const heap = await heapUsedMb(bench);
  return Object.fromEntries(SERVICE_NAMES.map((name) => [name, { idleMb: rss[name], idlePssMb: pss[name], idleHeapUsedMb: heap[name] }])) as Record<
    ServiceName,
    Pick<ServiceMemory, 'idleMb' | 'idlePssMb' | 'idleHeapUsedMb'>
  >;
}

/** Peak resident sets, sampled at most every `everyMs` while a scenario runs (call tick() often). */
export function peakSampler(bench: TestSystem, everyMs = 250): { tick(): void; peaks(): Record<ServiceName, number | null> } {
  const peaks = Object.fromEntries(SERVICE_NAMES.map((name) => [name, null])) as Record<ServiceName, number | null>;
  let last = 0;
  const sample = () => {
    for (const [name, mb] of Object.entries(memoryReading(bench)) as Array<[ServiceName, number | null]>) {
      if (mb !== null && (peaks[name] === null || mb > peaks[name]!)) peaks[name] = mb;
    }
  };
  return {
    tick() {
      const now = performance.now();
      if (now - last < everyMs) return;
      last = now;
      sample();
    },
    peaks() {
      sample();
      return { ...peaks };
    },
  };
}
