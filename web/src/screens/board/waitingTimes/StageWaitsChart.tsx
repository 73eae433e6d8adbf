import { useTranslation } from 'react-i18next';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { waitStages, type WaitingTimesView } from '../../../api/types.ts';
import { ChartFigure, FiguresTable } from './ChartFigure.tsx';
import { axisTick, chartColors, legendText, minutes } from './chartStyle.tsx';

type StageWaitsChartProps = { stages: WaitingTimesView['stages']; departmentName: string };

/**
 * The median (p50) and the 90th percentile (p90) wait of each stage of a visit, in one department:
 * horizontal bars, so the stages' names read in full in either language. A stage none of whose
 * waits has ended yet has no bars, and says so in the figures.
 */
export function StageWaitsChart({ stages, departmentName }: StageWaitsChartProps) {
  const { t } = useTranslation();
  const rows = waitStages.map((stage) => {
    const found = stages.find((entry) => entry.stage === stage);
    return { stage, label: t(`waitStage.${stage}`), count: found?.count ?? 0, p50: found?.p50Minutes, p90: found?.p90Minutes };
  });
  const p50 = t('waitingTimes.p50');
  const p90 = t('waitingTimes.p90');
  const title = t('waitingTimes.stages.title', { department: departmentName });
  return (
    <ChartFigure
      id="stage-waits"
      title={title}
      empty={stages.length === 0 ? t('waitingTimes.noWaits') : undefined}
      chart={
        <ResponsiveContainer width="100%" height={320}>
          <BarChart data={rows} layout="vertical" margin={{ top: 8, right: 24, bottom: 8, left: 8 }} accessibilityLayer={false}>
            <CartesianGrid horizontal={false} stroke={chartColors.grid} />
            <XAxis type="number" tick={axisTick} />
            <YAxis type="category" dataKey="label" width={190} tick={axisTick} />
            <Tooltip cursor={{ fill: chartColors.cursor }} formatter={(value) => t('waitingTimes.minutes', { value: minutes(Number(value)) })} />
            {/* In the bars' order (p50, then p90), not by name. */}
            <Legend itemSorter={null} formatter={legendText} />
            <Bar dataKey="p50" name={p50} fill={chartColors.p50} isAnimationActive={false} />
            <Bar dataKey="p90" name={p90} fill={chartColors.p90} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      }
      figures={
        <FiguresTable
          caption={t('waitingTimes.figuresOf', { chart: title })}
          columns={[t('waitingTimes.stage'), t('waitingTimes.count'), p50, p90]}
          rows={rows.map((row) => [
            row.label,
            String(row.count),
            row.p50 === undefined ? t('waitingTimes.none') : t('waitingTimes.minutes', { value: minutes(row.p50) }),
            row.p90 === undefined ? t('waitingTimes.none') : t('waitingTimes.minutes', { value: minutes(row.p90) }),
          ])}
        />
      }
    />
  );
}
