import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { getDiagnosis, listDiagnoses } from '../../api/endpoints.ts';
import { openDiagnosisStatuses, type DiagnosisView } from '../../api/types.ts';
import { useDebounced } from '../../hooks/useDebounced.ts';
import { useLoader } from '../../hooks/useLoader.ts';
import { useLiveEvents } from '../../live/LiveContext.tsx';
import { DiagnosisDetail } from './DiagnosisDetail.tsx';
import { DiagnosisWorklist } from './DiagnosisWorklist.tsx';

async function loadWorklist(signal: AbortSignal): Promise<DiagnosisView[]> {
  const lists = await Promise.all(openDiagnosisStatuses.map((status) => listDiagnoses(status, signal)));
  return lists.flat().sort((a, b) => a.id - b.id);
}

/** The doctor's office: the open diagnoses, and the selected one with its results and decisions. */
export function DoctorScreen() {
  const { t } = useTranslation();
  const [selectedId, setSelectedId] = useState<number | null>(null);
  // Bumped on every live refresh so the attachment lists of the selected diagnosis reload too.
  const [liveRound, setLiveRound] = useState(0);
  const worklist = useLoader(loadWorklist, []);
  const detail = useLoader((signal) => (selectedId === null ? Promise.resolve(undefined) : getDiagnosis(selectedId, signal)), [selectedId]);

  const refresh = () => {
    worklist.reload();
    detail.reload();
    setLiveRound((round) => round + 1);
  };
  // A result, an attachment or a cancellation may have reached any diagnosis: reload what is shown.
  useLiveEvents(useDebounced(refresh));

  return (
    <div className="screen doctor-screen">
      <h1>{t('screens.doctor')}</h1>
      <div className="screen-grid">
        <DiagnosisWorklist worklist={worklist} selectedId={selectedId} onSelect={setSelectedId} />
        <DiagnosisDetail detail={detail} selectedId={selectedId} liveRound={liveRound} onChanged={refresh} />
      </div>
    </div>
  );
}
