/**
 * `npm run migrate`: runs every service's database migrations as the environment's DATABASE_URL,
 * which must be the schemas' owner, once, before the services start with
 * DATABASE_MIGRATIONS=separate (they then only check that what they need has run). With
 * DATABASE_SERVICE_ROLE set, that role, the one the services connect as, may then read and write
 * each service's tables, only read and add to the append-only ones (the audit trail, the access
 * log), and not change the schema. On the embedded profile it migrates the SQLite files under
 * DATA_DIR. Exit codes: 0 done, 1 failed.
 */
import { ConfigError } from '@medical/platform';
import { migrateService } from '@medical/platform/operations';
import { diagnosisService } from '../services/diagnosis/src/service.ts';
import { examinationService } from '../services/examination/src/service.ts';
import { interopService } from '../services/interop/src/service.ts';
import { patientManagementService } from '../services/patient-management/src/service.ts';
import { receptionService } from '../services/reception/src/service.ts';

const services = [receptionService, diagnosisService, examinationService, patientManagementService, interopService()];

try {
  for (const service of services) console.log(await migrateService(service, process.env));
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `migrate failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
