/**
 * `npm run service -- <name>`: one service alone, on its default port (PORT to change it), with
 * its data under ./data (DATA_DIR). Useful to restart a service that `npm start` lost, or to run
 * a service against a system started elsewhere.
 */
import { SERVICE_NAMES, type ServiceName } from './lib/processes.ts';

const name = process.argv[2];
if (!name || !SERVICE_NAMES.includes(name as ServiceName)) {
  console.error(`usage: npm run service -- <name>\n  names: ${SERVICE_NAMES.join(', ')}`);
  process.exit(2);
}
// A service run by hand is a developer's: it asks for the gateway's development identity provider
// unless told otherwise (the services' own default is AUTH_MODE=oidc, a real provider).
process.env.AUTH_MODE ??= 'dev';
await import(`../services/${name}/src/main.ts`);
