import { useTranslation } from 'react-i18next';
import type { VisitStage, VisitView } from '../../api/types.ts';
import { useDepartments } from '../../i18n/departments.ts';
import { useHospitalTime } from '../../i18n/hospitalTime.ts';

type StageColumnProps = { stage: VisitStage; visits: VisitView[]; selectedId: number | null; onSelect: (receptionId: number) => void };

/**
 * One stage of the board: its name and count as the heading, its visits as buttons that open the
 * timeline, each beside its queue number, with its department and last change beneath.
 */
export function StageColumn({ stage, visits, selectedId, onSelect }: StageColumnProps) {
  const { t } = useTranslation();
  const { time } = useHospitalTime();
  const departments = useDepartments();
  const headingId = `stage-${stage}-heading`;
  return (
    <section className={`stage-column stage-${stage.toLowerCase().replace(/_/g, '-')}`} aria-labelledby={headingId} data-stage={stage} data-count={visits.length}>
      <h3 id={headingId}>{t('board.stageHeading', { stage: t(`stage.${stage}`), count: visits.length })}</h3>
      {visits.length === 0 ? (
        <p className="empty">{t('board.stageEmpty')}</p>
      ) : (
        <ul aria-labelledby={headingId}>
          {visits.map((visit) => (
            <li key={visit.receptionId} data-reception-id={visit.receptionId} data-stage={visit.stage} data-queue-number={visit.queueNumber}>
              {visit.queueNumber !== undefined && (
                <span className="queue-badge">
                  <span className="visually-hidden">{t('queue.number')} </span>
                  {visit.queueNumber}
                </span>
              )}
              <div className="visit-card">
                <button type="button" className="visit-button" aria-pressed={visit.receptionId === selectedId} onClick={() => onSelect(visit.receptionId)}>
                  {t('board.visit', { name: visit.patientName, patientId: visit.patientId, id: visit.receptionId })}
                </button>
                <span className="secondary-text">
                  {[departments.name(visit.department), t('board.updated', { time: time(visit.updatedAt) })].filter(Boolean).join(' · ')}
                </span>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
