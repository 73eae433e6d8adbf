import { useTranslation } from 'react-i18next';
import { getTimeline } from '../../api/endpoints.ts';
import { describeError } from '../../api/describeError.ts';
import type { VisitView } from '../../api/types.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { StageText } from '../../components/StatusText.tsx';
import { useLoader } from '../../hooks/useLoader.ts';
import { useExaminations } from '../../i18n/examinations.ts';
import { useHospitalTime } from '../../i18n/hospitalTime.ts';

/** The selected visit's steps, oldest first, with who did each; reloaded whenever the visit changes. */
export function VisitTimeline({ visit }: { visit: VisitView | undefined }) {
  const { t, i18n } = useTranslation();
  const { dateTime } = useHospitalTime();
  const english = i18n.resolvedLanguage === 'en';
  // The current language's own name of an event, never another language's (no fallback).
  const eventLabel = (event: string): string | undefined => {
    const label: unknown = i18n.getResource(i18n.resolvedLanguage ?? 'ko', 'translation', `board.timeline.events.${event}`);
    return typeof label === 'string' ? label : undefined;
  };
  const examinations = useExaminations();
  // The examination a step names (prescribed, ordered): the service's words end with its type
  // ("Examination prescribed: CHEST_XRAY"), looked for among the visit's own examinations rather
  // than parsed out of the words; its name is added when the catalog has it.
  const withExamination = (text: string, description: string): string => {
    const type = visit?.examinations.find((examination) => description.endsWith(`: ${examination.examinationType}`))?.examinationType;
    return type && examinations.entry(type) ? t('board.timeline.withExamination', { event: text, examination: examinations.name(type) }) : text;
  };
  const receptionId = visit?.receptionId;
  // updatedAt: the board refetched the visit after a live event, so the timeline has a new step.
  const timeline = useLoader(
    (signal) => (receptionId === undefined ? Promise.resolve(undefined) : getTimeline(receptionId, signal)),
    [receptionId, visit?.updatedAt],
  );
  const steps = timeline.data && timeline.data.receptionId === receptionId ? timeline.data.steps : undefined;

  return (
    <section className="card wide timeline" aria-labelledby="timeline-heading" data-reception-id={receptionId}>
      <h2 id="timeline-heading">
        {visit ? t('board.timeline.heading', { name: visit.patientName, id: visit.receptionId }) : t('board.timeline.none')}
      </h2>
      <ErrorAlert message={timeline.error ? describeError(timeline.error, t) : undefined} />
      {steps && steps.length === 0 && <p className="empty">{t('board.timeline.empty')}</p>}
      {steps && steps.length > 0 && (
        <DataTable
          labelledBy="timeline-heading"
          columns={[t('board.timeline.at'), t('board.timeline.description'), t('board.timeline.stage'), t('board.timeline.service'), t('board.timeline.actor')]}
        >
          {steps.map((step) => (
            <tr key={step.eventId} data-event={step.event} data-event-id={step.eventId}>
              <th scope="row">
                <time dateTime={step.at}>{dateTime(step.at)}</time>
              </th>
              <td>
                {/* The event's name in the console's language when its message file names it (in
                    Korean every event; in English only the emergency access, named so it stands
                    out), with the service's own English words beneath, which carry the details (which
                    examination, which outcome; marked as English for screen readers); else those
                    words alone. An examination of the catalog is named in the console's language too. */}
                {eventLabel(step.event) === undefined ? (
                  <span className="primary-text">{withExamination(step.description, step.description)}</span>
                ) : (
                  <>
                    <span className="primary-text">{withExamination(eventLabel(step.event)!, step.description)}</span>
                    <span className="secondary-text" lang={english ? undefined : 'en'}>
                      {step.description}
                    </span>
                  </>
                )}
              </td>
              <td>
                <StageText stage={step.stage} />
              </td>
              <td>{t(`board.timeline.services.${step.service}`, { defaultValue: step.service })}</td>
              <td>
                {step.actor
                  ? t('board.timeline.actorValue', { name: step.actor.name ?? step.actor.subject, role: t(`role.${step.actor.role}`) })
                  : t('board.timeline.noActor')}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}
