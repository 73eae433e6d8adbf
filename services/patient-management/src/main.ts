import { runServiceProcess } from '@medical/platform';
import { patientManagementService } from './service.ts';

await runServiceProcess(patientManagementService);
