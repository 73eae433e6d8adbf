import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../scripts/lib/processes.ts';
import { registerPatient, type TestSystem } from '../../test/e2e/helpers.ts';
import { load, round, sleep, startNginx, type LoadFigures } from '../lib/tools.ts';
import type { Log, Mode } from './mode.ts';

/** Scenario 1: GET /receptions/{id} straight to the service, through nginx, through a minimal Node proxy and through the gateway. */

export type GatewayFigures = {
  connections: number;
  durationS: number;
  warmupS: number;
  nginxWorkers: number;
  gatewayRps: number;
  nginxRps: number;
  directRps: number;
  /** The minimal Node.js proxy (bench/lib/minimal-proxy.ts): the ceiling of a gateway in Node on this machine. */
  nodeCeilingRps: number;
  /** gatewayRps / nginxRps (target ≥ 0.8). */
  ratio: number;
  /** gatewayRps / nodeCeilingRps: how much of what Node.js can do the gateway does. */
  ratioToNodeCeiling: number;
  /** nodeCeilingRps / nginxRps: the most any Node.js gateway could reach of the target's ratio. */
  nodeCeilingRatio: number;
  gatewayP99Ms: number;
  nginxP99Ms: number;
  directP99Ms: number;
  nodeCeilingP99Ms: number;
  /** gatewayP99Ms / nginxP99Ms (target ≤ 1.25). */
  p99Ratio: number;
  runs: Record<'direct' | 'nginx' | 'nodeCeiling' | 'gateway', LoadFigures>;
};

const MINIMAL_PROXY = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'minimal-proxy.ts');

async function startMinimalProxy(upstream: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [MINIMAL_PROXY, upstream, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the minimal proxy exited with ${code} before it was ready`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function gatewayScenario(bench: TestSystem, nginxBinary: string, mode: Mode, log: Log): Promise<GatewayFigures> {
  const connections = 20;
  const durationS = mode.quick ? 2 : 20;
  const warmupS = mode.quick ? 0.5 : 3;
  const nginxWorkers = 1;
  const created = await bench.client.post('/receptions', { patientId: await registerPatient(bench.client, { name: 'Bench Gateway' }), symptom: 'none' });
  if (created.status !== 201) throw new Error(`POST /receptions → ${created.status}: ${created.text}`);
  const id = (created.body as { id: number }).id;
  const receptionUrl = bench.system.services.reception.url;
  const nginx = await startNginx(nginxBinary, { port: await freePort(), upstream: receptionUrl, workers: nginxWorkers });
  const minimal = await startMinimalProxy(receptionUrl);
  const targets = {
    direct: `${receptionUrl}/receptions/${id}`,
    nginx: `${nginx.url}/receptions/${id}`,
    nodeCeiling: `${minimal.url}/receptions/${id}`,
    gateway: `${bench.system.gatewayUrl}/receptions/${id}`,
  } as const;
  const runs = {} as GatewayFigures['runs'];
  try {
    // One after the other, each after a warm-up of its own (the JIT, keep-alive pools).
    for (const [name, url] of Object.entries(targets) as Array<[keyof typeof targets, string]>) {
      await load(url, { connections, durationS: warmupS });
      runs[name] = await load(url, { connections, durationS });
      log(`  ${name.padEnd(11)} ${runs[name].rps} req/s, p50 ${runs[name].p50Ms} ms, p99 ${runs[name].p99Ms} ms, non-2xx ${runs[name].non2xx}, errors ${runs[name].errors}`);
      await sleep(mode.quick ? 100 : 500);
    }
  } finally {
    await nginx.stop();
    await minimal.stop();
  }
  return {
    connections,
    durationS,
    warmupS,
    nginxWorkers,
    gatewayRps: runs.gateway.rps,
    nginxRps: runs.nginx.rps,
    directRps: runs.direct.rps,
    nodeCeilingRps: runs.nodeCeiling.rps,
    ratio: round(runs.gateway.rps / runs.nginx.rps, 3),
    ratioToNodeCeiling: round(runs.gateway.rps / runs.nodeCeiling.rps, 3),
    nodeCeilingRatio: round(runs.nodeCeiling.rps / runs.nginx.rps, 3),
    gatewayP99Ms: runs.gateway.p99Ms,
    nginxP99Ms: runs.nginx.p99Ms,
    directP99Ms: runs.direct.p99Ms,
    nodeCeilingP99Ms: runs.nodeCeiling.p99Ms,
    p99Ratio: round(runs.gateway.p99Ms / Math.max(runs.nginx.p99Ms, 1e-9), 3),
    runs,
  };
}
