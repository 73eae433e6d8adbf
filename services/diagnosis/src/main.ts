import { runServiceProcess } from '@medical/platform';
import { diagnosisService } from './service.ts';

await runServiceProcess(diagnosisService);
