import { useEffect, useId, useRef, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

type DialogProps = {
  title: string;
  /** The id of the text that explains the dialog (aria-describedby), read out with its title. */
  describedBy?: string;
  onClose: () => void;
  children: ReactNode;
};

/**
 * A modal dialog on the native <dialog> element: showModal() makes the rest of the page inert
 * and traps focus, Escape closes it (its `cancel` event), and focus returns to the control that
 * opened it. Render it only while open.
 */
export function Dialog({ title, describedBy, onClose, children }: DialogProps) {
  const { t } = useTranslation();
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const latestOnClose = useRef(onClose);
  latestOnClose.current = onClose;

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    // The first field, not the close button: the dialog exists to be filled in.
    const first =
      dialog.querySelector<HTMLElement>('[data-autofocus]') ??
      dialog.querySelector<HTMLElement>('form input, form textarea, form select') ??
      dialog.querySelector<HTMLElement>('button');
    first?.focus();
    return () => {
      if (dialog.open) dialog.close();
      opener?.focus();
    };
  }, []);

  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-modal="true"
      aria-labelledby={titleId}
      aria-describedby={describedBy}
      onCancel={(event) => {
        event.preventDefault();
        latestOnClose.current();
      }}
    >
      <div className="dialog-header">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="button secondary" onClick={() => latestOnClose.current()}>
          {t('common.close')}
        </button>
      </div>
      {children}
    </dialog>
  );
}
