import { SessionProvider } from '../auth/SessionContext.tsx';
import { DisplayApp } from './display/DisplayApp.tsx';
import type { WaitingRoomRoute } from './routes.ts';
import { TicketPage } from './ticket/TicketPage.tsx';
import './waitingRoom.css';

/**
 * The waiting room's page a path names, outside the staff console: the call screen keeps the
 * console's session (sign-in, renewal, expiry); the patient's ticket needs none, and no token is
 * ever sent from it.
 */
export function WaitingRoomPage({ route }: { route: WaitingRoomRoute }) {
  if (route.page === 'ticket') return <TicketPage token={route.token} />;
  return (
    <SessionProvider>
      <DisplayApp department={route.department} />
    </SessionProvider>
  );
}
