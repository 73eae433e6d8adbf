import type { CalledPatientView } from '../api.ts';
import { Bilingual, Both } from '../Bilingual.tsx';
import { useDepartmentNames } from '../departmentNames.ts';
import { RoomName } from '../RoomName.tsx';
import { callKey } from './useCallAnnouncer.ts';

/** The calls a 1080-line screen shows, large enough to read across the room; the API sends up to 10. */
const CALLS_SHOWN = 5;

/**
 * The numbers being called now, newest first, the newest highlighted: each with the masked name,
 * the room, the department of its queue when it is another's, and whether it is a recall.
 */
export function CallingList({ calls }: { calls: readonly CalledPatientView[] }) {
  return (
    <section className="calling" aria-labelledby="calling-title" data-testid="calling">
      <h2 id="calling-title" className="panel-title">
        <Bilingual k="display.calling" />
      </h2>
      {calls.length === 0 ? (
        <p className="panel-empty">
          <Bilingual k="display.callingEmpty" />
        </p>
      ) : (
        <ol className="calling-list">
          {calls.slice(0, CALLS_SHOWN).map((call, index) => (
            // Keyed by the call: a recall is a new row, and flashes again as the newest.
            <CalledRow key={callKey(call)} call={call} newest={index === 0} />
          ))}
        </ol>
      )}
    </section>
  );
}

function CalledRow({ call, newest }: { call: CalledPatientView; newest: boolean }) {
  const departmentName = useDepartmentNames();
  return (
    <li className={newest ? 'called called-newest' : 'called'} data-queue-number={call.queueNumber} data-called-at={call.calledAt} data-call-count={call.callCount}>
      <span className="called-number-block">
        <span className="called-number">{call.queueNumber}</span>
        {call.from !== undefined && <Both className="called-from" {...departmentName(call.from)} />}
      </span>
      <span className="called-details">
        <span className="called-name">{call.maskedName}</span>
        {call.room !== undefined && <RoomName room={call.room} messages="display" className="called-room" />}
        {call.callCount > 1 && <Bilingual k="display.recall" className="called-recall" />}
      </span>
    </li>
  );
}
