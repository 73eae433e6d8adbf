import { useCallback, useState } from 'react';

/** Where a screen keeps the room its calls name: per browser, since a workstation stays in one room. */
export type CallRoomKey = 'doctor' | 'examiner';

const storageKey = (screen: CallRoomKey) => `console.callRoom.${screen}`;

function storedRoom(screen: CallRoomKey): string {
  try {
    return localStorage.getItem(storageKey(screen)) ?? '';
  } catch {
    return ''; // storage refused (a locked-down profile): the room is typed per session
  }
}

/** The room field's text, its setter, and what a call sends: the text trimmed, or nothing when blank. */
export type CallRoom = { room: string; setRoom: (room: string) => void; sent: string | undefined };

/**
 * The room a screen's calls send (`POST …/call` `{ room }`), as the field shows it, and remembered
 * in this browser: a doctor types their consulting room once, not at every call. Blank: the calls
 * name no room (a recall then keeps the last call's). Not the person's: the room is the workstation's.
 */
export function useCallRoom(screen: CallRoomKey): CallRoom {
  const [room, setRoomState] = useState(() => storedRoom(screen));
  const setRoom = useCallback(
    (next: string) => {
      setRoomState(next);
      try {
        if (next.trim() === '') localStorage.removeItem(storageKey(screen));
        else localStorage.setItem(storageKey(screen), next);
      } catch {
        // Not remembered; the field still holds it.
      }
    },
    [screen],
  );
  const trimmed = room.trim();
  return { room, setRoom, sent: trimmed === '' ? undefined : trimmed };
}
