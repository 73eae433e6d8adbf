/**
 * `npm start`: the whole system on the embedded profile, one process per service, data under
 * ./data (DATA_DIR), the gateway on :8088. Ctrl-C stops every service cleanly.
 */
import { DEFAULT_PORTS, SERVICE_NAMES, startSystem } from './lib/processes.ts';

const dataDir = process.env.DATA_DIR ?? './data';
const started = Date.now();
console.log(`starting ${SERVICE_NAMES.join(', ')} (data in ${dataDir}) ...`);

let system: Awaited<ReturnType<typeof startSystem>>;
try {
  system = await startSystem({ dataDir, ports: DEFAULT_PORTS, output: 'inherit', host: process.env.HOST ?? '127.0.0.1' });
} catch (error) {
  console.error(`could not start the system: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

console.log(`\nready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${system.gatewayUrl}`);
for (const name of SERVICE_NAMES) console.log(`  ${name.padEnd(20)} ${system.services[name].url}  (docs: ${system.services[name].url}/docs)`);
console.log('press Ctrl-C to stop\n');

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping every service ...`);
  const exits = await system.stopAll();
  const unclean = Object.entries(exits).filter(([, e]) => e.code !== 0 && e.signal !== 'SIGTERM' && e.signal !== 'SIGINT');
  console.log(unclean.length === 0 ? 'stopped.' : `stopped; not cleanly: ${unclean.map(([n]) => n).join(', ')}`);
  process.exit(unclean.length === 0 ? 0 : 1);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

// A service that dies on its own is reported, and the rest of the system keeps running.
for (const name of SERVICE_NAMES) {
  void system.services[name].exited.then((exit) => {
    if (!stopping) console.error(`${name} exited unexpectedly (${exit.signal ?? `code ${exit.code}`}); restart it with: npm run service -- ${name}`);
  });
}
