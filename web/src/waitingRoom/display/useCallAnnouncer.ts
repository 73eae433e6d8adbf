import { useCallback, useEffect, useRef, useState } from 'react';
import type { CalledPatientView, QueueView } from '../api.ts';
import { useBothLanguages } from '../Bilingual.tsx';
import { callSentence } from './callText.ts';
import { playChime, speakKorean, warmUpVoices } from './sound.ts';

/** The sentence of one call, in both languages, keyed by the call (a recall is a new one). */
export type Announcement = { key: string; ko: string; en: string };

export type CallAnnouncer = {
  /** Whether calls are heard: the browser allows sound only after a gesture, the "enable sound" button. */
  soundOn: boolean;
  enableSound: () => void;
  /** The last call announced, for the screen's live region. */
  last: Announcement | undefined;
  /** Announces calls, oldest first: each one's chime, then its sentence, one call after the other. */
  announce: (calls: readonly CalledPatientView[]) => void;
};

/** The choice to hear the calls, kept for the session (this tab, reloads included). */
const SOUND_KEY = 'waitingRoom.sound';
/** How long a remembered choice waits for the browser to allow sound before asking again. */
const SOUND_CHECK_MS = 1_000;

/** A call's identity: its number (of its queue) and its time; a recall has a time of its own. */
export const callKey = (call: CalledPatientView) => `${call.from ?? ''}|${call.queueNumber}|${call.calledAt}`;

export function useCallAnnouncer(): CallAnnouncer {
  const { ko, en } = useBothLanguages();
  const [soundOn, setSoundOn] = useState(() => sessionStorage.getItem(SOUND_KEY) === 'on');
  const [last, setLast] = useState<Announcement>();
  const context = useRef<AudioContext | null>(null);
  const playing = useRef(Promise.resolve());
  const soundOnNow = useRef(soundOn);
  soundOnNow.current = soundOn;

  const audio = useCallback(() => {
    if (typeof AudioContext === 'undefined') return null;
    context.current ??= new AudioContext();
    return context.current;
  }, []);

  const enableSound = useCallback(() => {
    // Within the click: the one moment the browser lets the page start its sound.
    void audio()?.resume();
    warmUpVoices();
    sessionStorage.setItem(SOUND_KEY, 'on');
    setSoundOn(true);
  }, [audio]);

  // A choice remembered from before a reload: the browser may refuse sound until a gesture on
  // this page again, and then the button asks for one rather than the screen staying silent.
  useEffect(() => {
    if (!soundOnNow.current) return;
    warmUpVoices();
    const context = audio();
    if (!context || context.state === 'running') return;
    void context.resume();
    const timer = setTimeout(() => {
      if (context.state !== 'running') setSoundOn(false);
    }, SOUND_CHECK_MS);
    return () => clearTimeout(timer);
  }, [audio]);

  useEffect(
    () => () => {
      globalThis.speechSynthesis?.cancel();
      void context.current?.close();
      context.current = null;
    },
    [],
  );

  const announce = useCallback(
    (calls: readonly CalledPatientView[]) => {
      for (const call of calls) {
        const sentence = callSentence(ko, call.queueNumber, call.room);
        setLast({ key: callKey(call), ko: sentence, en: callSentence(en, call.queueNumber, call.room) });
        if (!soundOnNow.current) continue;
        playing.current = playing.current.then(async () => {
          const context = audio();
          if (context) await playChime(context);
          if ((await speakKorean(sentence)) === 'blocked') setSoundOn(false);
        });
      }
    },
    [ko, en, audio],
  );

  return { soundOn, enableSound, last, announce };
}

/** Keys remembered, enough for a day's calls on one screen; the oldest are forgotten first. */
const SEEN_LIMIT = 1_000;

/**
 * Calls `onNew` with the calls of each queue not seen before (a first call or a recall: a
 * `calledAt` not seen), oldest first. The calls of the first queue seen, those on screen when the
 * page loaded, are not new: the room has heard them already.
 */
export function useNewCalls(queue: QueueView | undefined, onNew: (calls: CalledPatientView[]) => void): void {
  const seen = useRef<Set<string> | null>(null);
  const latest = useRef(onNew);
  latest.current = onNew;
  useEffect(() => {
    if (!queue) return;
    if (seen.current === null) {
      seen.current = new Set(queue.calling.map(callKey));
      return;
    }
    const known = seen.current;
    const fresh = queue.calling.filter((call) => !known.has(callKey(call))).sort((a, b) => a.calledAt.localeCompare(b.calledAt));
    for (const call of fresh) known.add(callKey(call));
    for (const key of known) {
      if (known.size <= SEEN_LIMIT) break;
      known.delete(key);
    }
    if (fresh.length > 0) latest.current(fresh);
  }, [queue]);
}
