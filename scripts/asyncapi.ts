import fs from 'node:fs';
import path from 'node:path';
import { asyncApiDocument } from '@medical/contracts/asyncapi';
import { REPOSITORY_ROOT } from './lib/processes.ts';

/**
 * `npm run asyncapi`: writes docs/asyncapi.json, the AsyncAPI 3.0 document of the events, from the
 * contracts (packages/contracts/src/asyncapi.ts), as the gateway serves it at /asyncapi.json. Run
 * it after changing an event; test/asyncapi.test.ts fails while the copy differs.
 */
const { version } = JSON.parse(fs.readFileSync(path.join(REPOSITORY_ROOT, 'package.json'), 'utf8')) as { version: string };
const file = path.join(REPOSITORY_ROOT, 'docs', 'asyncapi.json');
const text = `${JSON.stringify(asyncApiDocument({ version }), null, 2)}\n`;
const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
fs.writeFileSync(file, text);
console.log(`${path.relative(process.cwd(), file) || file}: ${before === text ? 'up to date' : 'written'}`);
