import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';

type Toast = { id: number; message: string };
type ToastState = { notify: (message: string) => void };

const ToastContext = createContext<ToastState | null>(null);
const TOAST_MS = 6_000;
let nextId = 1;

/**
 * Short confirmations ("registered", "cancelled") in a polite live region (role=status): read
 * out without taking focus away from the work. The region is always in the page so that screen
 * readers notice what is added to it.
 */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const notify = useCallback((message: string) => {
    const id = nextId++;
    setToasts((current) => [...current.slice(-2), { id, message }]);
    setTimeout(() => setToasts((current) => current.filter((toast) => toast.id !== id)), TOAST_MS);
  }, []);
  const value = useMemo(() => ({ notify }), [notify]);
  return (
    <ToastContext.Provider value={value}>
      {children}
      <div role="status" aria-live="polite" className="toasts">
        {toasts.map((toast) => (
          <p key={toast.id} className="toast">
            {toast.message}
          </p>
        ))}
      </div>
    </ToastContext.Provider>
  );
}

export function useToast(): (message: string) => void {
  const state = useContext(ToastContext);
  if (!state) throw new Error('useToast outside ToastProvider');
  return state.notify;
}
