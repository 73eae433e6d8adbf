import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { DiagnosisView } from '../../api/types.ts';
import { StatusText } from '../../components/StatusText.tsx';
import { WorklistTable } from '../../components/WorklistTable.tsx';
import type { Loaded } from '../../hooks/useLoader.ts';
import { useHospitalTime } from '../../i18n/hospitalTime.ts';

type WorklistProps = { worklist: Loaded<DiagnosisView[]>; selectedId: number | null; onSelect: (id: number) => void; children?: ReactNode };

/** Diagnoses waiting for the doctor (registered, examinations prescribed or done), oldest first; `children` below the table. */
export function DiagnosisWorklist({ worklist, selectedId, onSelect, children }: WorklistProps) {
  const { t } = useTranslation();
  const { time } = useHospitalTime();
  return (
    <WorklistTable
      className="card"
      headingId="doctor-worklist-heading"
      heading={t('doctor.worklist.heading')}
      columns={[t('doctor.worklist.id'), t('doctor.worklist.patient'), t('doctor.worklist.status'), t('doctor.worklist.updatedAt'), t('doctor.worklist.actions')]}
      list={worklist}
      empty={t('doctor.worklist.empty')}
      renderRow={(diagnosis) => (
        <tr
          key={diagnosis.id}
          data-diagnosis-id={diagnosis.id}
          data-reception-id={diagnosis.receptionId}
          data-status={diagnosis.status}
          className={diagnosis.id === selectedId ? 'selected' : undefined}
        >
          <th scope="row">#{diagnosis.id}</th>
          <td>
            <span className="primary-text">{diagnosis.patientName}</span>
            <span className="secondary-text">{diagnosis.patientId}</span>
          </td>
          <td>
            <StatusText kind="diagnosis" status={diagnosis.status} />
          </td>
          <td>{time(diagnosis.updatedAt)}</td>
          <td>
            <button
              type="button"
              className="button secondary"
              aria-pressed={diagnosis.id === selectedId}
              aria-label={t('common.rowAction', { action: t('common.select'), name: diagnosis.patientName, id: diagnosis.id })}
              onClick={() => onSelect(diagnosis.id)}
            >
              {t('common.select')}
            </button>
          </td>
        </tr>
      )}
    >
      {children}
    </WorklistTable>
  );
}
