import { useMemo } from 'react';
import { ApiError } from '../../api/problem.ts';
import { useConsoleConfig } from '../../config/ConfigContext.tsx';
import type { TicketView } from '../api.ts';
import { Bilingual, Both, useBothLanguages } from '../Bilingual.tsx';
import { useDepartmentNames } from '../departmentNames.ts';
import { RoomName } from '../RoomName.tsx';
import { useWaitingRoomDocument } from '../useWaitingRoomDocument.ts';
import { useTicket } from './useTicket.ts';

/** A time of the day at the hospital, on a 24-hour clock that reads the same in both languages. */
function useClock(): (instant: Date | string) => string {
  const { timeZone } = useConsoleConfig();
  return useMemo(() => {
    const format = new Intl.DateTimeFormat('ko-KR', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    return (instant) => format.format(new Date(instant));
  }, [timeZone]);
}

/**
 * `/ticket/{token}`: the patient's own ticket on their phone, without signing in: their number,
 * how many are before them and the expected wait, and once called the room, large. It shows what
 * the ticket's answer holds and nothing more; an unknown or ended link says so.
 */
export function TicketPage({ token }: { token: string }) {
  const { ko } = useBothLanguages();
  const clock = useClock();
  const { ticket, error, ended, checkedAt } = useTicket(token);
  useWaitingRoomDocument(ko('ticket.title'));

  return (
    <div className="ticket-page">
      <main className="ticket-main">
        <h1 className="ticket-title">
          <Bilingual k="ticket.title" />
        </h1>
        {ended ? (
          <TicketEnded ended={ended} error={error} />
        ) : ticket ? (
          <TicketCard ticket={ticket} clock={clock} />
        ) : (
          !error && (
            <p className="ticket-loading">
              <Bilingual k="ticket.loading" />
            </p>
          )
        )}
        {error !== undefined && !ended && (
          <p role="alert" className="ticket-alert">
            <Bilingual k="ticket.networkError" />
          </p>
        )}
        {!ended && (
          <p className="ticket-refresh">
            <Bilingual k="ticket.refreshes" />
            {checkedAt && (
              <>
                {' · '}
                <Bilingual k="ticket.updatedAt" values={{ time: clock(checkedAt) }} />
              </>
            )}
          </p>
        )}
      </main>
    </div>
  );
}

function TicketCard({ ticket, clock }: { ticket: TicketView; clock: (instant: string) => string }) {
  const department = useDepartmentNames()(ticket.department);
  return (
    <article className={`ticket ticket-${ticket.status.toLowerCase()}`} data-ticket-status={ticket.status}>
      <p className="ticket-department">
        <Both ko={department.ko} en={department.en} /> <span className="ticket-day">{ticket.day}</span>
      </p>
      <dl className="ticket-facts">
        <div className="ticket-fact ticket-fact-number">
          <dt>
            <Bilingual k="ticket.number" />
          </dt>
          <dd className="ticket-number" data-testid="ticket-number">
            {ticket.queueNumber}
          </dd>
        </div>
        <div className="ticket-fact">
          <dt>
            <Bilingual k="ticket.name" />
          </dt>
          <dd className="ticket-name">{ticket.maskedName}</dd>
        </div>
      </dl>
      {/* Read out when it changes: the patient looking away hears that they are called. */}
      <section className="ticket-status" aria-live="polite" aria-atomic="true">
        <h2 className="ticket-status-title">
          <Bilingual k={`ticket.status.${ticket.status}`} />
        </h2>
        {ticket.status === 'WAITING' ? <WaitingFacts ticket={ticket} /> : <CalledFacts ticket={ticket} clock={clock} />}
      </section>
    </article>
  );
}

function WaitingFacts({ ticket }: { ticket: TicketView }) {
  return (
    <dl className="ticket-facts">
      <div className="ticket-fact">
        <dt>
          <Bilingual k="ticket.ahead" />
        </dt>
        <dd className="ticket-ahead" data-testid="ticket-ahead">
          <Bilingual k="ticket.people" values={{ count: ticket.ahead }} />
        </dd>
      </div>
      <div className="ticket-fact">
        <dt>
          <Bilingual k="ticket.expectedWait" />
        </dt>
        <dd data-testid="ticket-expected-wait">
          {ticket.expectedWaitMinutes === null ? (
            <Bilingual k="ticket.notYetKnown" />
          ) : (
            <Bilingual k="ticket.aboutMinutes" values={{ minutes: ticket.expectedWaitMinutes }} />
          )}
        </dd>
      </div>
    </dl>
  );
}

/** Called, or already with the doctor: the room, as large as the number, and when. */
function CalledFacts({ ticket, clock }: { ticket: TicketView; clock: (instant: string) => string }) {
  if (ticket.room === undefined && ticket.calledAt === undefined) return null;
  return (
    <dl className="ticket-facts">
      {ticket.room !== undefined && (
        <div className="ticket-fact ticket-fact-room">
          <dt>
            <Bilingual k="ticket.room" />
          </dt>
          <dd className="ticket-room" data-testid="ticket-room">
            <RoomName room={ticket.room} messages="ticket" />
          </dd>
        </div>
      )}
      {ticket.calledAt !== undefined && (
        <div className="ticket-fact">
          <dt>
            <Bilingual k="ticket.calledAt" />
          </dt>
          <dd>{clock(ticket.calledAt)}</dd>
        </div>
      )}
    </dl>
  );
}

/** An unknown link, or an ended one with what the server says of it, and where to ask. */
function TicketEnded({ ended, error }: { ended: 'unknown' | 'gone'; error: unknown }) {
  const detail = ended === 'gone' && error instanceof ApiError ? error.problem?.detail : undefined;
  return (
    <section role="alert" className="ticket-ended" data-ticket-ended={ended}>
      <h2 className="ticket-status-title">
        <Bilingual k={ended === 'gone' ? 'ticket.gone' : 'ticket.notFound'} />
      </h2>
      {detail && <p className="ticket-detail">{detail}</p>}
      <p>
        <Bilingual k="ticket.askDesk" />
      </p>
    </section>
  );
}
