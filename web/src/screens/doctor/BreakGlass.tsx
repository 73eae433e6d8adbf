import { createContext, useCallback, useContext, useRef, useState, type ReactNode } from 'react';
import { BreakGlassDeclined, outsideDepartmentOf } from '../../api/breakGlass.ts';
import { BreakGlassDialog } from '../../components/BreakGlassDialog.tsx';

/**
 * Sends a request for one diagnosis; when the server refuses it as outside the doctor's
 * departments, asks the doctor (the dialog) whether to break the glass and, given a reason, sends
 * it again with that reason (`request(reason)`). Declined: rejects with BreakGlassDeclined.
 */
export type BreakGlassRun = <T>(diagnosisId: number, request: (reason?: string) => Promise<T>) => Promise<T>;

type Question = { seq: number; diagnosisId: number; department: string | undefined; answer: (reason: string | undefined) => void };

const BreakGlassContext = createContext<BreakGlassRun | null>(null);
let nextSeq = 1;

/**
 * The doctor's screen's break-glass: one question at a time, in a modal dialog. The reason given
 * for a diagnosis is offered again the next time the same diagnosis needs one (opened, then
 * prescribed on, say); each request is still asked for and recorded on its own.
 */
export function BreakGlassProvider({ children }: { children: ReactNode }) {
  const [question, setQuestion] = useState<Question | null>(null);
  const pending = useRef<Question | null>(null);
  const reasons = useRef(new Map<number, string>());

  const ask = useCallback(
    (diagnosisId: number, department: string | undefined) =>
      new Promise<string | undefined>((resolve) => {
        // A question still open is answered "no" rather than left hanging (the dialog is modal, so
        // only a request nobody clicked for could get here).
        pending.current?.answer(undefined);
        const next: Question = {
          seq: nextSeq++,
          diagnosisId,
          department,
          answer: (reason) => {
            if (pending.current !== next) return;
            pending.current = null;
            setQuestion(null);
            resolve(reason);
          },
        };
        pending.current = next;
        setQuestion(next);
      }),
    [],
  );

  const run = useCallback<BreakGlassRun>(
    async (diagnosisId, request) => {
      try {
        return await request();
      } catch (error) {
        const outside = outsideDepartmentOf(error);
        if (!outside) throw error;
        const reason = await ask(diagnosisId, outside.department);
        if (reason === undefined) throw new BreakGlassDeclined(error);
        reasons.current.set(diagnosisId, reason);
        return request(reason);
      }
    },
    [ask],
  );

  return (
    <BreakGlassContext.Provider value={run}>
      {children}
      {question && (
        <BreakGlassDialog
          key={question.seq}
          diagnosisId={question.diagnosisId}
          department={question.department}
          initialReason={reasons.current.get(question.diagnosisId) ?? ''}
          onConfirm={(reason) => question.answer(reason)}
          onCancel={() => question.answer(undefined)}
        />
      )}
    </BreakGlassContext.Provider>
  );
}

export function useBreakGlass(): BreakGlassRun {
  const run = useContext(BreakGlassContext);
  if (!run) throw new Error('useBreakGlass outside BreakGlassProvider');
  return run;
}
