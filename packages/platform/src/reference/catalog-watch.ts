import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { LiveCatalog } from './catalog.ts';

/**
 * Puts the catalog file's changes in force while the process runs: the file is read again every
 * `intervalMs` (a ConfigMap's mounted file changes in place, through a symlink the kubelet swaps,
 * which a file watch can miss), and a changed file that checks replaces the catalog. One that does
 * not check is refused, said once in the log, and shown by `medical_catalog_file_valid` 0 (an
 * alert), while the catalog in force stays: a typo in the ConfigMap never takes the desk's
 * departments away. Returns the stop.
 */
export function watchCatalog(catalog: LiveCatalog, { intervalMs, logger, registry }: { intervalMs: number; logger: Logger; registry: Registry }): () => void {
  const reloads = new Counter({
    name: 'medical_catalog_reloads_total',
    help: 'Changes of the catalog file, by outcome: applied, or refused (the file does not check; the catalog in force stays)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const valid = new Gauge({ name: 'medical_catalog_file_valid', help: '1 while the catalog file checks, 0 while a change of it is refused', registers: [registry] });
  valid.set(1);
  if (!catalog.source) return () => undefined;
  let refused: string | undefined;
  const timer = setInterval(() => {
    const result = catalog.reload();
    if (result.outcome === 'unchanged') {
      // The file holds what is in force (again, after a refused change was undone).
      refused = undefined;
      valid.set(1);
    } else if (result.outcome === 'applied') {
      refused = undefined;
      valid.set(1);
      reloads.inc({ outcome: 'applied' });
      logger.info({ catalogVersion: catalog.version, departments: catalog.departments.length, examinations: catalog.examinations.length }, 'the catalog file changed: in force');
    } else if (result.outcome === 'refused') {
      valid.set(0);
      if (refused !== result.reason) {
        reloads.inc({ outcome: 'refused' });
        logger.error({ catalogVersion: catalog.version, file: catalog.source?.file }, `the catalog file changed but does not check, so the catalog in force stays: ${result.reason}`);
      }
      refused = result.reason;
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
