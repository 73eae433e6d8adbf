import { runServiceProcess } from '@medical/platform';
import { interopService } from './service.ts';

await runServiceProcess(interopService());
