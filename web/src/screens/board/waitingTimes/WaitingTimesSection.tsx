import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { describeLoadFailure } from '../../../api/describeError.ts';
import { ErrorAlert } from '../../../components/ErrorAlert.tsx';
import { SelectField } from '../../../components/SelectField.tsx';
import { useConsoleConfig } from '../../../config/ConfigContext.tsx';
import { useDepartments } from '../../../i18n/departments.ts';
import { hospitalDay, useHospitalTime } from '../../../i18n/hospitalTime.ts';
import { HourlyWaitsChart } from './HourlyWaitsChart.tsx';
import { StageWaitsChart } from './StageWaitsChart.tsx';
import { useWaitingTimes } from './useWaitingTimes.ts';
import { WaitingNowChart } from './WaitingNowChart.tsx';

/**
 * The manager's waiting times (대기 시간): how long the patients of a department waited at each
 * stage of their visits on a day, by stage and by the hour of the day, and who waits in every
 * department now. Today's by default, live; another day chosen, that day's.
 */
export function WaitingTimesSection() {
  const { t } = useTranslation();
  const { timeZone, defaultDepartment } = useConsoleConfig();
  const departments = useDepartments();
  const { time } = useHospitalTime();
  const today = hospitalDay(new Date(), timeZone);
  const [day, setDay] = useState(today);
  const [department, setDepartment] = useState(defaultDepartment ?? departments.options[0]?.value ?? '');
  const figures = useWaitingTimes(day);
  const data = figures.data;
  const departmentName = departments.name(department);

  return (
    <section className="card waiting-times" aria-labelledby="waiting-times-heading" aria-busy={figures.loading || undefined} data-day={day} data-department={department} data-live={figures.live}>
      <h2 id="waiting-times-heading">{t('waitingTimes.heading')}</h2>
      <div className="waiting-times-tools">
        <SelectField id="waiting-times-department" label={t('waitingTimes.department')} value={department} onChange={setDepartment} options={departments.options} required />
        <div className="field">
          <label htmlFor="waiting-times-day">{t('waitingTimes.day')}</label>
          <input id="waiting-times-day" type="date" value={day} max={today} required onChange={(event) => setDay(event.target.value || today)} />
        </div>
        {/* Not a live region: it changes every 30 seconds, which a screen reader would read out each time. */}
        <p className="secondary-text">
          {data && (figures.live ? t('waitingTimes.liveAsOf', { time: time(data.to) }) : t('waitingTimes.dayShown', { day }))}
        </p>
      </div>
      <ErrorAlert message={describeLoadFailure(figures.error, t)} />
      {data && (
        <div className="chart-grid">
          <StageWaitsChart stages={data.stages.filter((entry) => entry.department === department)} departmentName={departmentName} />
          <HourlyWaitsChart byHour={data.byHour.filter((entry) => entry.department === department)} departmentName={departmentName} />
          <WaitingNowChart waitingNow={data.waitingNow} />
        </div>
      )}
    </section>
  );
}
