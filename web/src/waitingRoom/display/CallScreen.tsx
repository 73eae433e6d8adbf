import { ApiError } from '../../api/problem.ts';
import { useSession } from '../../auth/SessionContext.tsx';
import { Bilingual, Both, useBothLanguages } from '../Bilingual.tsx';
import { useDepartmentNames } from '../departmentNames.ts';
import { useWaitingRoomDocument } from '../useWaitingRoomDocument.ts';
import { CallingList } from './CallingList.tsx';
import { CallAnnouncement, SoundControl, StreamStatus } from './ScreenControls.tsx';
import { useCallAnnouncer, useNewCalls } from './useCallAnnouncer.ts';
import { useQueue } from './useQueue.ts';
import { QueueFigures, WaitingList } from './WaitingList.tsx';

/**
 * A department's call screen on the waiting room's TV (1920×1080): its name, the numbers being
 * called (newest first, the newest highlighted), the next ones, how many wait and for how long.
 * Each new call (a first call or a recall) chimes and is spoken in Korean once sound is enabled,
 * and is announced to screen readers; the calls on screen when the page loads are not.
 */
export function CallScreen({ department }: { department: string }) {
  const name = useDepartmentNames()(department);
  const { ko } = useBothLanguages();
  const { queue, error, status } = useQueue(department);
  const announcer = useCallAnnouncer();
  useNewCalls(queue, announcer.announce);
  useWaitingRoomDocument(ko('display.title', { department: name.ko }));

  return (
    <div className="call-screen">
      <header className="call-screen-header">
        <h1 className="call-screen-title">
          <Both ko={name.ko} en={name.en} />
        </h1>
        <div className="call-screen-tools">
          <SoundControl soundOn={announcer.soundOn} onEnable={announcer.enableSound} />
          <StreamStatus status={status} />
        </div>
      </header>
      <main className="call-screen-main">
        <LoadFailure error={error} department={department} />
        <CallingList calls={queue?.calling ?? []} />
        <WaitingList waiting={queue?.waiting ?? []} />
      </main>
      <footer className="call-screen-footer">
        <QueueFigures queue={queue} />
        <SignOutButton />
      </footer>
      <CallAnnouncement last={announcer.last} />
    </div>
  );
}

/**
 * An unknown department (404, or no department code at all: 400) says so; any other failure says
 * the screen keeps trying (it does: the stream, the fallback reads).
 */
function LoadFailure({ error, department }: { error: unknown; department: string }) {
  if (!error) return null;
  const unknown = error instanceof ApiError && (error.status === 404 || error.status === 400);
  return (
    <p role="alert" className="call-screen-alert">
      {unknown ? <Bilingual k="display.unknownDepartment" values={{ department }} /> : <Bilingual k="display.loadFailed" />}
    </p>
  );
}

/** For whoever sets the screen up: the session otherwise stays for days. */
function SignOutButton() {
  const { signOut } = useSession();
  return (
    <button type="button" className="call-screen-sign-out" onClick={signOut}>
      <Bilingual k="display.signOut" />
    </button>
  );
}
