// The gateway's process entry, like every service's: it starts unconditionally, so it also starts
// when scripts/service.ts imports it (`npm run service -- gateway`). Code that wants a gateway in
// its own process imports startGateway from gateway.ts instead.
import { runGatewayProcess } from './gateway.ts';

await runGatewayProcess();
