import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { listNewestReceptions } from '../../api/endpoints.ts';
import type { ReceptionView } from '../../api/types.ts';
import { useConsoleConfig } from '../../config/ConfigContext.tsx';
import { useDebounced } from '../../hooks/useDebounced.ts';
import { useLoader } from '../../hooks/useLoader.ts';
import { hospitalDay } from '../../i18n/hospitalTime.ts';
import { useLiveEvents } from '../../live/LiveContext.tsx';
import { hasTicket } from './QueueTicket.tsx';
import type { ShownTicket } from './RegisteredVisit.tsx';
import { RegistrationForm } from './RegistrationForm.tsx';
import { TodaysVisits } from './TodaysVisits.tsx';

/**
 * The reception desk: find (or register) the patient, register their visit and print its queue
 * ticket, and follow today's visits to cancel or confirm them (or print a ticket again).
 */
export function ReceptionScreen() {
  const { t } = useTranslation();
  const { timeZone } = useConsoleConfig();
  const visits = useLoader(
    (signal) => {
      // "Today" at the hospital, decided at each load so the list rolls over at midnight.
      const today = hospitalDay(new Date(), timeZone);
      return listNewestReceptions((reception) => hospitalDay(reception.receivedAt ?? reception.createdAt, timeZone) === today, signal);
    },
    [timeZone],
  );
  // Any visit's change may be one of today's: the desk sees no visit data in the stream, so it reloads.
  const reloadSoon = useDebounced(visits.reload);
  useLiveEvents(reloadSoon);
  const [ticket, setTicket] = useState<ShownTicket | null>(null);
  const showTicket = useCallback((reception: ReceptionView, focus: boolean) => {
    setTicket(hasTicket(reception) ? { reception, focus } : null);
  }, []);
  const onRegistered = useCallback(
    (reception: ReceptionView) => {
      showTicket(reception, false);
      visits.reload();
    },
    [showTicket, visits.reload],
  );

  return (
    <div className="screen reception-screen">
      <h1>{t('screens.reception')}</h1>
      <div className="screen-grid">
        <RegistrationForm onRegistered={onRegistered} ticket={ticket} />
        <TodaysVisits visits={visits} onTicket={(reception) => showTicket(reception, true)} />
      </div>
    </div>
  );
}
