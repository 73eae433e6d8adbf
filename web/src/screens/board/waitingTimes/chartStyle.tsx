/**
 * The charts' colours and text, from the console's palette (styles.css): every colour at least
 * 3:1 on white, as a graphic needs, and the axes' words at the muted text's 7.4:1. Recharts draws
 * with SVG attributes, which CSS custom properties do not reach, hence the values here.
 */
export const chartColors = {
  p50: '#0b5cad',
  p90: '#b35c00',
  grid: '#c3cbd3',
  text: '#4a5561',
  /** The band behind the bars under the pointer. */
  cursor: '#eef3f8',
  /** One per stage, in waitStages order. */
  stages: ['#0b5cad', '#b35c00', '#1b6b34', '#7b2d8e', '#a4161a', '#1a1f24'],
} as const;

export const axisTick = { fill: chartColors.text, fontSize: 13 } as const;

/** A legend's entry in the text's colour (Recharts writes it in the series' own, too light for text); its swatch keeps the series' colour. */
export const legendText = (value: string) => <span className="chart-legend-text">{value}</span>;

/** Minutes as the charts' figures say them: to the hundredth, as the read model gives them (a wait of seconds is not 0), without trailing zeros. */
export function minutes(value: number | undefined): string {
  return value === undefined ? '' : String(Math.round(value * 100) / 100);
}
