import { isNumberedRoom } from './api.ts';
import { Bilingual } from './Bilingual.tsx';

/**
 * A room as the waiting room reads it: a bare number is a consultation room's, "3번 진료실 Room 3";
 * any other name ("CT-1", "채혈실") is the hospital's own, shown as it is written.
 */
export function RoomName({ room, messages, className }: { room: string; messages: 'display' | 'ticket'; className?: string }) {
  if (isNumberedRoom(room)) return <Bilingual k={`${messages}.roomNumbered`} values={{ room: room.trim() }} className={className} />;
  return <span className={className ? `both ${className}` : 'both'}>{room}</span>;
}
