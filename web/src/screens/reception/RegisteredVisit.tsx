import { useEffect, useRef } from 'react';
import { createPortal } from 'react-dom';
import { useTranslation } from 'react-i18next';
import { QueueTicket, type TicketedReception } from './QueueTicket.tsx';

/**
 * The visit whose ticket the desk shows, and whether the print button takes the focus (asked for
 * from a row: yes). A new value each time it is asked for, even for the same visit.
 */
export type ShownTicket = { reception: TicketedReception; focus: boolean };

/**
 * The ticket of the visit just registered (or of one asked for again from today's visits): its
 * number large, as the ticket shows it, and the button that prints it. The printed copy is a
 * second one under <body>, hidden on screen: the print stylesheet shows only it, so nothing of
 * the console, nor a blank page after it, comes out of the receipt printer.
 */
export function RegisteredVisit({ shown }: { shown: ShownTicket }) {
  const { t } = useTranslation();
  const printButton = useRef<HTMLButtonElement>(null);
  const { reception } = shown;

  useEffect(() => {
    if (shown.focus) printButton.current?.focus();
  }, [shown]);

  return (
    <section className="registered-visit" aria-labelledby="registered-visit-heading" data-ticket-reception-id={reception.id}>
      <h3 id="registered-visit-heading">{t('reception.ticket.heading', { name: reception.patientName, id: reception.id, number: reception.queueNumber })}</h3>
      <QueueTicket reception={reception} />
      <button ref={printButton} type="button" className="button primary" onClick={() => window.print()}>
        {t('reception.ticket.print')}
      </button>
      {createPortal(
        <div className="ticket-print">
          <QueueTicket reception={reception} />
        </div>,
        document.body,
      )}
    </section>
  );
}
