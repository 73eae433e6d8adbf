import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';

type Toast = { id: number; message: string };
type ToastState = { notify: (message: string) => void; toasts: readonly Toast[] };

const ToastContext = createContext<ToastState | null>(null);
const TOAST_MS = 6_000;
let nextId = 1;

/**
 * Short confirmations ("registered", "cancelled"): `useToast()` to say one, `ToastRegion` to show
 * them. Each stays 6 seconds.
 */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const notify = useCallback((message: string) => {
    const id = nextId++;
    setToasts((current) => [...current.slice(-2), { id, message }]);
    setTimeout(() => setToasts((current) => current.filter((toast) => toast.id !== id)), TOAST_MS);
  }, []);
  const value = useMemo(() => ({ notify, toasts }), [notify, toasts]);
  return <ToastContext.Provider value={value}>{children}</ToastContext.Provider>;
}

/**
 * Where the confirmations show: in the console's header (AppHeader), which stays at the top of
 * the window, so a confirmation is in sight wherever the work is, and never over a form (floating
 * in a corner, it covered the doctor's completion form). The newest one only, in a polite live
 * region (role=status), always in the page so that screen readers notice what is added to it and
 * read each one out without taking the focus away from the work.
 */
export function ToastRegion() {
  const state = useContext(ToastContext);
  const newest = state?.toasts.at(-1);
  return (
    <div role="status" aria-live="polite" className="toasts">
      {newest && (
        <p key={newest.id} className="toast">
          {newest.message}
        </p>
      )}
    </div>
  );
}

export function useToast(): (message: string) => void {
  const state = useContext(ToastContext);
  if (!state) throw new Error('useToast outside ToastProvider');
  return state.notify;
}
