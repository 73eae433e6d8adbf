import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { describeLoadFailure } from '../api/describeError.ts';
import type { Loaded } from '../hooks/useLoader.ts';
import { DataTable } from './DataTable.tsx';
import { ErrorAlert } from './ErrorAlert.tsx';

type WorklistTableProps<T> = {
  headingId: string;
  heading: string;
  columns: readonly string[];
  list: Loaded<T[]>;
  /** One <tr> per item, keyed. */
  renderRow: (item: T) => ReactNode;
  /** Shown under the table once the list has loaded empty. */
  empty: string;
  className?: string;
  /** What sits between the heading and the table: a setting its rows' actions use (the room calls name). */
  tools?: ReactNode;
  /** What belongs to the card besides the table, such as a dialog opened from a row. */
  children?: ReactNode;
};

/**
 * A screen's worklist card: its heading, the load failure, the table (busy while reloading) and
 * the note that nothing is waiting.
 */
export function WorklistTable<T>({ headingId, heading, columns, list, renderRow, empty, className = 'card wide', tools, children }: WorklistTableProps<T>) {
  const { t } = useTranslation();
  return (
    <section className={className} aria-labelledby={headingId}>
      <h2 id={headingId}>{heading}</h2>
      {tools}
      <ErrorAlert message={describeLoadFailure(list.error, t)} />
      <DataTable labelledBy={headingId} columns={columns} busy={list.loading}>
        {list.data?.map((item) => renderRow(item))}
      </DataTable>
      {list.data?.length === 0 && <p className="empty">{empty}</p>}
      {children}
    </section>
  );
}
