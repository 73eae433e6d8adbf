import { useEffect, useRef } from 'react';
import type { LiveStatus } from '../../live/stream.ts';
import { Bilingual } from '../Bilingual.tsx';
import type { Announcement } from './useCallAnnouncer.ts';

/**
 * The "enable sound" button until it is pressed (browsers allow sound only after a gesture on the
 * page), focused so the remote's or keyboard's Enter presses it; then a note that sound is on.
 */
export function SoundControl({ soundOn, onEnable }: { soundOn: boolean; onEnable: () => void }) {
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!soundOn) button.current?.focus();
  }, [soundOn]);
  if (soundOn) {
    return (
      <p className="sound-on" data-testid="sound-on">
        <Bilingual k="display.soundOn" />
      </p>
    );
  }
  return (
    <button ref={button} type="button" className="sound-button" onClick={onEnable}>
      <Bilingual k="display.enableSound" />
    </button>
  );
}

/** The stream's state in words; the dot only repeats it. */
export function StreamStatus({ status }: { status: LiveStatus }) {
  return (
    <p className={`stream-status stream-${status}`} data-stream-status={status}>
      <span className="stream-dot" aria-hidden="true" />
      <Bilingual k={`display.${status}`} />
    </p>
  );
}

/**
 * What a screen reader says of each new call, the sentence the room hears. Replaced, not edited,
 * on each call (keyed by it), so a recall of the same words is announced again.
 */
export function CallAnnouncement({ last }: { last: Announcement | undefined }) {
  return (
    <div className="visually-hidden" aria-live="polite" aria-atomic="true" data-testid="call-announcement">
      {last && (
        <p key={last.key}>
          <span lang="ko">{last.ko}</span> <span lang="en">{last.en}</span>
        </p>
      )}
    </div>
  );
}
