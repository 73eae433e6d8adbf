import { useTranslation } from 'react-i18next';
import { useState } from 'react';
import { listDiagnoses } from '../../api/endpoints.ts';
import { openDiagnosisStatuses, type DiagnosisView } from '../../api/types.ts';
import { useCallRoom } from '../../hooks/useCallRoom.ts';
import { useDebounced } from '../../hooks/useDebounced.ts';
import { useLoader } from '../../hooks/useLoader.ts';
import { useLiveEvents } from '../../live/LiveContext.tsx';
import { BreakGlassProvider, useBreakGlass } from './BreakGlass.tsx';
import { DiagnosisDetail } from './DiagnosisDetail.tsx';
import { DiagnosisWorklist } from './DiagnosisWorklist.tsx';
import { OpenDiagnosisForm } from './OpenDiagnosisForm.tsx';
import { useDiagnosisDetail } from './useDiagnosisDetail.ts';

async function loadWorklist(signal: AbortSignal): Promise<DiagnosisView[]> {
  const lists = await Promise.all(openDiagnosisStatuses.map((status) => listDiagnoses(status, signal)));
  return lists.flat().sort((a, b) => a.id - b.id);
}

/**
 * The doctor's office: the open diagnoses of their departments, each patient called in from the
 * worklist, one opened by its number (another department's only by breaking the glass), and the
 * selected one with its results and decisions.
 */
export function DoctorScreen() {
  return (
    <BreakGlassProvider>
      <DoctorOffice />
    </BreakGlassProvider>
  );
}

function DoctorOffice() {
  const { t } = useTranslation();
  // Bumped on every live refresh so the attachment lists of the selected diagnosis reload too.
  const [liveRound, setLiveRound] = useState(0);
  const worklist = useLoader(loadWorklist, []);
  const detail = useDiagnosisDetail(useBreakGlass());
  const room = useCallRoom('doctor');

  const refresh = () => {
    worklist.reload();
    detail.reload();
    setLiveRound((round) => round + 1);
  };
  // After a decision or a call: the diagnosis as the command answered it (one opened in an emergency is not read again).
  const changed = (view: DiagnosisView) => {
    detail.answered(view);
    refresh();
  };
  // A result, an attachment or a cancellation may have reached any diagnosis: reload what is shown.
  const refreshLater = useDebounced(refresh);
  useLiveEvents((event) => {
    detail.noticeLive(event);
    refreshLater();
  });

  return (
    <div className="screen doctor-screen">
      <h1>{t('screens.doctor')}</h1>
      <div className="screen-grid">
        <DiagnosisWorklist worklist={worklist} selectedId={detail.selectedId} onSelect={detail.select} room={room} onChanged={changed}>
          <OpenDiagnosisForm onOpen={detail.select} />
        </DiagnosisWorklist>
        <DiagnosisDetail detail={detail} liveRound={liveRound} room={room.sent} onChanged={changed} onReopen={detail.select} />
      </div>
    </div>
  );
}
