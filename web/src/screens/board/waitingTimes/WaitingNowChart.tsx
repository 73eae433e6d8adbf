import { useTranslation } from 'react-i18next';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { WaitingTimesView } from '../../../api/types.ts';
import { useConsoleConfig } from '../../../config/ConfigContext.tsx';
import { useDepartments } from '../../../i18n/departments.ts';
import { ChartFigure, FiguresTable } from './ChartFigure.tsx';
import { axisTick, chartColors } from './chartStyle.tsx';

/**
 * The patients waiting now in each department (the doctor's queue or an examination's), in the
 * catalog's order of departments: where the waiting room is full at this moment.
 */
export function WaitingNowChart({ waitingNow }: { waitingNow: WaitingTimesView['waitingNow'] }) {
  const { t } = useTranslation();
  const { departments: catalog } = useConsoleConfig();
  const departments = useDepartments();
  const order = (code: string) => {
    const index = catalog.findIndex((department) => department.code === code);
    return index < 0 ? catalog.length : index;
  };
  const rows = waitingNow
    .toSorted((a, b) => order(a.department) - order(b.department))
    .map((entry) => ({ department: departments.name(entry.department), waiting: entry.waitingCount }));
  const title = t('waitingTimes.now.title');
  const waiting = t('waitingTimes.now.waiting');
  return (
    <ChartFigure
      id="waiting-now"
      title={title}
      empty={rows.length === 0 ? t('waitingTimes.now.nobody') : undefined}
      chart={
        <ResponsiveContainer width="100%" height={Math.max(120, rows.length * 44 + 40)}>
          <BarChart data={rows} layout="vertical" margin={{ top: 8, right: 24, bottom: 8, left: 8 }} accessibilityLayer={false}>
            <CartesianGrid horizontal={false} stroke={chartColors.grid} />
            <XAxis type="number" tick={axisTick} allowDecimals={false} />
            <YAxis type="category" dataKey="department" width={140} tick={axisTick} />
            <Tooltip cursor={{ fill: chartColors.cursor }} />
            <Bar dataKey="waiting" name={waiting} fill={chartColors.p50} isAnimationActive={false} label={{ position: 'right', fill: chartColors.text, fontSize: 13 }} />
          </BarChart>
        </ResponsiveContainer>
      }
      figures={<FiguresTable caption={t('waitingTimes.figuresOf', { chart: title })} columns={[t('waitingTimes.department'), waiting]} rows={rows.map((row) => [row.department, String(row.waiting)])} />}
    />
  );
}
