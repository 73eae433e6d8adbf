import type { DiagnosisView } from '../../api/types.ts';

/** Where a diagnosis or an examination stands in its queue (contracts queueProperties): both answers carry the same fields. */
export type QueueState = Pick<DiagnosisView, 'queueNumber' | 'calledAt' | 'callCount' | 'room' | 'noShowAt'>;

/** Called at least once: the next call is a recall, and the patient may be marked as not come. */
export function isCalled(state: QueueState): state is QueueState & { calledAt: string } {
  return state.calledAt !== undefined;
}
