/**
 * `npm run catalog:migrate [-- --dry-run]`: rewrites the free text that visits, prescriptions and
 * examinations carry from before the catalog had codes ("내과", "X-ray") to the codes the catalog's
 * names and aliases say it meant (HOSPITAL_CATALOG_FILE, else the default catalog), in each
 * service's database as `npm run migrate` reaches it (DATABASE_URL, the schemas' owner, or the
 * SQLite files under DATA_DIR). Prints one line per value: rewritten, or left because the catalog
 * does not know it (add an alias to the catalog and run again). Then `npm run rebuild` brings the
 * patient-management view to the same codes. Exit codes: 0 done, 1 failed.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadCatalog } from '@medical/platform';
import { formatRecodeReports, recodeFreeText } from '@medical/platform/operations';
import { diagnosisService } from '../services/diagnosis/src/service.ts';
import { examinationService } from '../services/examination/src/service.ts';
import { receptionService } from '../services/reception/src/service.ts';

const services = [receptionService, diagnosisService, examinationService];

try {
  const { values } = parseArgs({ options: { 'dry-run': { type: 'boolean', default: false } } });
  const dryRun = values['dry-run'] === true;
  const catalog = loadCatalog(process.env);
  console.log(`catalog ${catalog.version}: ${catalog.departments.length} departments, ${catalog.examinations.length} examinations${dryRun ? ' (dry run: nothing is written)' : ''}`);
  for (const service of services) console.log(formatRecodeReports(await recodeFreeText(service, process.env, catalog, { dryRun }), dryRun));
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `catalog:migrate failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
