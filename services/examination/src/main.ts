import { runServiceProcess } from '@medical/platform';
import { examinationService } from './service.ts';

await runServiceProcess(examinationService);
