import { Field } from '../Field.tsx';
import { limits } from '../../forms/limits.ts';
import type { CallRoom } from '../../hooks/useCallRoom.ts';

type RoomFieldProps = {
  id: string;
  label: string;
  hint: string;
  room: Pick<CallRoom, 'room' | 'setRoom'>;
};

/** The room the screen's calls name (hooks/useCallRoom.ts): a short field beside the worklist, kept in this browser. */
export function RoomField({ id, label, hint, room }: RoomFieldProps) {
  return (
    <div className="room-field">
      <Field id={id} label={label} hint={hint} value={room.room} onChange={room.setRoom} maxLength={limits.room} autoComplete="off" />
    </div>
  );
}
