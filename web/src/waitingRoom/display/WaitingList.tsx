import type { QueueView, WaitingPatientView } from '../api.ts';
import { Bilingual, Both } from '../Bilingual.tsx';
import { useDepartmentNames } from '../departmentNames.ts';

/** The next ones a 1080-line screen shows beside the calls; the API sends up to 30. */
const WAITING_SHOWN = 10;

/** Who is next, in order: the number and the masked name (and the department of another's queue). */
export function WaitingList({ waiting }: { waiting: readonly WaitingPatientView[] }) {
  const departmentName = useDepartmentNames();
  return (
    <section className="next" aria-labelledby="next-title" data-testid="waiting">
      <h2 id="next-title" className="panel-title">
        <Bilingual k="display.next" />
      </h2>
      {waiting.length === 0 ? (
        <p className="panel-empty">
          <Bilingual k="display.nextEmpty" />
        </p>
      ) : (
        <ol className="next-list">
          {waiting.slice(0, WAITING_SHOWN).map((patient) => (
            <li key={`${patient.from ?? ''}|${patient.queueNumber}`} className="next-row" data-queue-number={patient.queueNumber}>
              <span className="next-number">{patient.queueNumber}</span>
              <span className="next-name">{patient.maskedName}</span>
              {patient.from !== undefined && <Both className="next-from" {...departmentName(patient.from)} />}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/** How many wait, and the median wait of today's patients so far (unknown before the first call). */
export function QueueFigures({ queue }: { queue: QueueView | undefined }) {
  const median = queue?.medianWaitMinutes ?? null;
  return (
    <dl className="figures">
      <div className="figure">
        <dt>
          <Bilingual k="display.waitingCount" />
        </dt>
        <dd data-testid="waiting-count">{queue ? <Bilingual k="display.people" values={{ count: queue.waitingCount }} /> : '–'}</dd>
      </div>
      <div className="figure">
        <dt>
          <Bilingual k="display.medianWait" />
        </dt>
        <dd data-testid="median-wait">
          {median === null ? <Bilingual k="display.notYetKnown" /> : <Bilingual k="display.minutes" values={{ minutes: Math.round(median) }} />}
        </dd>
      </div>
    </dl>
  );
}
