import { callDiagnosis, markDiagnosisNoShow } from '../../api/endpoints.ts';
import type { DiagnosisView } from '../../api/types.ts';
import { CallActions } from '../../components/queue/CallActions.tsx';
import { useBreakGlass } from './BreakGlass.tsx';

type DiagnosisCallActionsProps = {
  diagnosis: DiagnosisView;
  /** The room the doctor's calls name (undefined: none), from the worklist's field. */
  room: string | undefined;
  /** In the worklist: the buttons are named for the row. */
  inRow?: boolean;
  onChanged: (view: DiagnosisView) => void;
};

/**
 * The doctor's Call, Recall and No-show on one diagnosis. Like every other action on a diagnosis,
 * one of another department's is sent again with the doctor's reason once they break the glass
 * (a new Idempotency-Key: the first one keeps its refusal).
 */
export function DiagnosisCallActions({ diagnosis, room, inRow = false, onChanged }: DiagnosisCallActionsProps) {
  const breakGlass = useBreakGlass();
  const id = diagnosis.id;
  return (
    <CallActions
      state={diagnosis}
      patientName={diagnosis.patientName}
      rowId={inRow ? id : undefined}
      call={(key, newKey) => breakGlass(id, (reason) => (reason === undefined ? callDiagnosis(id, room, key) : callDiagnosis(id, room, newKey(), reason)))}
      noShow={(key, newKey) => breakGlass(id, (reason) => (reason === undefined ? markDiagnosisNoShow(id, key) : markDiagnosisNoShow(id, newKey(), reason)))}
      onDone={onChanged}
    />
  );
}
