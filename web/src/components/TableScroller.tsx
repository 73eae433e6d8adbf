import type { ReactNode } from 'react';

/**
 * The box a wide table scrolls in on a narrow screen, instead of the page scrolling sideways.
 * Focusable, so a keyboard user can scroll it too, and named by the table's heading.
 */
export function TableScroller({ labelledBy, children }: { labelledBy: string; children: ReactNode }) {
  return (
    <div className="table-wrap" tabIndex={0} role="group" aria-labelledby={labelledBy}>
      {children}
    </div>
  );
}
