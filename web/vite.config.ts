import { defineConfig } from 'vite';

/**
 * The console is a static bundle the gateway serves at `/` (web/dist, hashed files under
 * /assets). `npm run -w web dev` proxies the API, the stream and the sign-in to a gateway running
 * on :8088 so the dev server and the gateway are one origin for the browser.
 */
const gateway = 'http://127.0.0.1:8088';
const proxied = ['/console', '/auth', '/receptions', '/diagnoses', '/examinations', '/patientManagements', '/patients', '/queues', '/tickets'];

export default defineConfig({
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, assetsDir: 'assets', sourcemap: false },
  server: { proxy: Object.fromEntries(proxied.map((path) => [path, { target: gateway, changeOrigin: false }])) },
});
