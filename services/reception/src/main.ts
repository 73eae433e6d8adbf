import { runServiceProcess } from '@medical/platform';
import { receptionService } from './service.ts';

await runServiceProcess(receptionService);
