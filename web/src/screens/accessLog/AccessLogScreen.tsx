import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { getAccessLog } from '../../api/endpoints.ts';
import { useLoader } from '../../hooks/useLoader.ts';
import { AccessLogTable } from './AccessLogTable.tsx';
import { PatientSearchForm } from './PatientSearchForm.tsx';

/** What is asked for; a new object per search, so searching the same patient again reloads. */
type Search = { patientId: string; page: number };

/**
 * The privacy officer's screen: a patient's access log, newest first, a page at a time: who read
 * or changed their records, and who was refused. Not live (the stream carries no access records):
 * searching again shows what arrived since.
 */
export function AccessLogScreen() {
  const { t } = useTranslation();
  const [search, setSearch] = useState<Search | null>(null);
  const log = useLoader(
    async (signal) => (search ? { patientId: search.patientId, answer: await getAccessLog(search.patientId, search.page, signal) } : undefined),
    [search],
  );
  // Another patient's rows never show under this one's heading while their log loads.
  const answer = search && log.data?.patientId === search.patientId ? log.data.answer : undefined;

  return (
    <div className="screen access-log-screen">
      <h1>{t('screens.access-log')}</h1>
      <PatientSearchForm onSearch={(patientId) => setSearch({ patientId, page: 0 })} />
      <AccessLogTable
        patientId={search?.patientId}
        answer={answer}
        loading={log.loading}
        error={log.error}
        onPage={(page) => setSearch((current) => current && { ...current, page })}
      />
    </div>
  );
}
