import type { ReactNode } from 'react';
import { TableScroller } from './TableScroller.tsx';

type DataTableProps = {
  /** The id of the heading that names both the scroll box and the table. */
  labelledBy: string;
  columns: readonly string[];
  /** True while a (re)load is in flight; aria-busy is left off otherwise. */
  busy?: boolean;
  /** The body's rows. */
  children: ReactNode;
};

/** A table of records under a heading: one column header per field, scrolling on its own on a narrow screen. */
export function DataTable({ labelledBy, columns, busy = false, children }: DataTableProps) {
  return (
    <TableScroller labelledBy={labelledBy}>
      <table aria-labelledby={labelledBy} aria-busy={busy || undefined}>
        <thead>
          <tr>
            {columns.map((column, index) => (
              // The columns are fixed per table, so their position is a stable key.
              <th key={index} scope="col">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </TableScroller>
  );
}
