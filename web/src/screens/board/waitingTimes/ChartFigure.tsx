import type { ReactNode } from 'react';

type ChartFigureProps = {
  id: string;
  title: string;
  /** The chart itself: hidden from screen readers, which read `figures` instead. */
  chart: ReactNode;
  /** The chart's text alternative: its figures as a table that only screen readers see (FiguresTable, below). */
  figures: ReactNode;
  /** Shown instead of the chart when there is nothing to draw. */
  empty?: string | undefined;
};

/**
 * One chart under its title. The drawing is hidden from assistive technology (an SVG of bars says
 * nothing) and its figures follow as a table that only screen readers see: the same numbers, read
 * cell by cell with their headings.
 */
export function ChartFigure({ id, title, chart, figures, empty }: ChartFigureProps) {
  const titleId = `${id}-title`;
  return (
    <figure className="chart" aria-labelledby={titleId} data-chart={id}>
      <figcaption id={titleId} className="chart-title">
        {title}
      </figcaption>
      {empty ? (
        <p className="empty">{empty}</p>
      ) : (
        <>
          <div className="chart-canvas" aria-hidden="true">
            {chart}
          </div>
          {figures}
        </>
      )}
    </figure>
  );
}

type FiguresTableProps = { caption: string; columns: readonly string[]; rows: readonly (readonly string[])[] };

/**
 * A chart's figures, for screen readers: the first cell of each row is its heading. Hidden by its
 * box, not by the table itself: a table grows to its content whatever width it is given.
 */
export function FiguresTable({ caption, columns, rows }: FiguresTableProps) {
  return (
    <div className="visually-hidden">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map(([heading, ...cells]) => (
            <tr key={heading}>
              <th scope="row">{heading}</th>
              {cells.map((cell, index) => (
                // A row's cells are fixed per table: their position is a stable key.
                <td key={index}>{cell}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
