import { useTranslation } from 'react-i18next';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { waitStages, type WaitingTimesView } from '../../../api/types.ts';
import { ChartFigure, FiguresTable } from './ChartFigure.tsx';
import { axisTick, chartColors, legendText, minutes } from './chartStyle.tsx';

type HourlyWaitsChartProps = { byHour: WaitingTimesView['byHour']; departmentName: string };

const hourLabel = (hour: number) => `${String(hour).padStart(2, '0')}:00`;

/**
 * The median wait of each stage by the hour of the day it began (the hospital's clock), in one
 * department: a line per stage that has figures, over the hours from the first to the last with
 * any and one more on each side (a single hour's figures still read as a point in a day); an hour
 * without a stage's figure leaves a gap rather than a made-up zero.
 */
export function HourlyWaitsChart({ byHour, departmentName }: HourlyWaitsChartProps) {
  const { t } = useTranslation();
  const stages = waitStages.filter((stage) => byHour.some((entry) => entry.stage === stage));
  const hours = byHour.map((entry) => entry.hour);
  const first = Math.max(Math.min(...hours) - 1, 0);
  const last = Math.min(Math.max(...hours) + 1, 23);
  const rows = byHour.length === 0 ? [] : Array.from({ length: last - first + 1 }, (_, index) => first + index).map((hour) => {
    const row: Record<string, number | string | undefined> = { hour: hourLabel(hour) };
    for (const entry of byHour) if (entry.hour === hour) row[entry.stage] = entry.p50Minutes;
    return row;
  });
  const figure = (hour: string, stage: string) => {
    const entry = byHour.find((item) => hourLabel(item.hour) === hour && item.stage === stage);
    return entry ? t('waitingTimes.minutesOf', { value: minutes(entry.p50Minutes), count: entry.count }) : t('waitingTimes.none');
  };
  const title = t('waitingTimes.hours.title', { department: departmentName });
  return (
    <ChartFigure
      id="hourly-waits"
      title={title}
      empty={byHour.length === 0 ? t('waitingTimes.noWaits') : undefined}
      chart={
        <ResponsiveContainer width="100%" height={300}>
          <LineChart data={rows} margin={{ top: 8, right: 24, bottom: 8, left: 8 }} accessibilityLayer={false}>
            <CartesianGrid stroke={chartColors.grid} />
            <XAxis dataKey="hour" tick={axisTick} />
            <YAxis tick={axisTick} width={48} />
            <Tooltip formatter={(value) => t('waitingTimes.minutes', { value: minutes(Number(value)) })} />
            {/* In the stages' order, as a visit passes them, not by name. */}
            <Legend itemSorter={null} formatter={legendText} />
            {stages.map((stage) => (
              <Line
                key={stage}
                dataKey={stage}
                name={t(`waitStage.${stage}`)}
                stroke={chartColors.stages[waitStages.indexOf(stage)]}
                strokeWidth={2}
                dot={{ r: 4 }}
                isAnimationActive={false}
                connectNulls={false}
              />
            ))}
          </LineChart>
        </ResponsiveContainer>
      }
      figures={
        <FiguresTable
          caption={t('waitingTimes.figuresOf', { chart: title })}
          columns={[t('waitingTimes.hour'), ...stages.map((stage) => t(`waitStage.${stage}`))]}
          rows={rows.filter((row) => stages.some((stage) => row[stage] !== undefined)).map((row) => [String(row.hour), ...stages.map((stage) => figure(String(row.hour), stage))])}
        />
      }
    />
  );
}
