import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { maskName, TICKET_PAGE_PATH } from '@medical/contracts/queues';
import type { ReceptionView } from '../../api/types.ts';
import { useConsoleConfig } from '../../config/ConfigContext.tsx';
import { useQrCode } from './useQrCode.ts';

/** A visit with a ticket: registered since queue numbers exist. */
export type TicketedReception = ReceptionView & { queueNumber: number; ticket: string };

export function hasTicket(reception: ReceptionView): reception is TicketedReception {
  return reception.queueNumber !== undefined && reception.ticket !== undefined;
}

/**
 * The ticket's link, which its QR code carries: the patient's own page of their place in the
 * queue, at the address patients' phones reach (TICKET_BASE_URL), else this console's.
 */
export function ticketLink(ticket: string, baseUrl: string | null): string {
  return `${baseUrl ?? location.origin}${TICKET_PAGE_PATH}${ticket}`;
}

/**
 * The patient's queue ticket, as it prints on an 80 mm receipt printer (styles.css, `@media
 * print`): the department, the number, the day, the name masked as the call screen shows it (the
 * ticket leaves the hospital in a pocket), and the QR code of the link to the patient's own page
 * with the link in words. In Korean and English together, whatever the console's language: it is
 * the patient's, not the staff's.
 */
export function QueueTicket({ reception }: { reception: TicketedReception }) {
  const { i18n } = useTranslation();
  const { departments, timeZone, ticketBaseUrl } = useConsoleConfig();
  const titleId = useId();
  const link = ticketLink(reception.ticket, ticketBaseUrl);
  const qr = useQrCode(link);
  const ko = i18n.getFixedT('ko');
  const en = i18n.getFixedT('en');
  const department = departments.find((entry) => entry.code === reception.department)?.name;
  const receivedAt = reception.receivedAt ?? reception.createdAt;
  // The hospital's clock, 24-hour: read the same in either language.
  const time = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(receivedAt));

  return (
    <article className="queue-ticket" aria-labelledby={titleId} data-queue-number={reception.queueNumber}>
      <p className="queue-ticket-department">
        {department ? (
          <>
            <span lang="ko">{department.ko}</span> <span lang="en">{department.en}</span>
          </>
        ) : (
          reception.department
        )}
      </p>
      <h3 id={titleId} className="queue-ticket-title">
        <span lang="ko">{ko('reception.ticket.title')}</span> <span lang="en">{en('reception.ticket.title')}</span>
      </h3>
      <p className="queue-ticket-number">{reception.queueNumber}</p>
      <p className="queue-ticket-name">{maskName(reception.patientName)}</p>
      <p className="queue-ticket-date">
        <time dateTime={receivedAt}>
          {reception.queueDay ?? ''} {time}
        </time>
      </p>
      {qr && <img className="queue-ticket-qr" src={qr} alt={`${ko('reception.ticket.qrAlt')} / ${en('reception.ticket.qrAlt')}`} />}
      <p className="queue-ticket-scan">
        <span lang="ko">{ko('reception.ticket.scan')}</span> <span lang="en">{en('reception.ticket.scan')}</span>
      </p>
      <p className="queue-ticket-link">{link}</p>
    </article>
  );
}
