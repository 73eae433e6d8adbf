import { useEffect } from 'react';
import { getWaitingTimes } from '../../../api/endpoints.ts';
import type { WaitingTimesView } from '../../../api/types.ts';
import { useConsoleConfig } from '../../../config/ConfigContext.tsx';
import { useDebounced } from '../../../hooks/useDebounced.ts';
import { useLoader, type Loaded } from '../../../hooks/useLoader.ts';
import { hospitalDay, nextDay, startOfHospitalDay } from '../../../i18n/hospitalTime.ts';
import { useLiveEvents } from '../../../live/LiveContext.tsx';

/** The longest the figures of today stay unrefreshed when no visit changes: the waiting-now counts age too. */
const REFRESH_MS = 30_000;

export type WaitingTimes = Loaded<WaitingTimesView> & { live: boolean };

/**
 * The waits of the stages that began on a hospital day, every department's (the filter picks among
 * them on screen: one answer also holds the waiting-now figures of all departments). Today's are
 * live: loaded again after a burst of visit changes on the stream, and every 30 seconds regardless;
 * another day's are final, loaded once.
 */
export function useWaitingTimes(day: string): WaitingTimes {
  const { timeZone } = useConsoleConfig();
  const live = day === hospitalDay(new Date(), timeZone);
  const figures = useLoader(
    (signal) =>
      getWaitingTimes(
        {
          from: startOfHospitalDay(day, timeZone).toISOString(),
          // Today: until now, the read model's default.
          to: live ? undefined : startOfHospitalDay(nextDay(day), timeZone).toISOString(),
        },
        signal,
      ),
    [day, timeZone, live],
  );
  const { reload } = figures;
  const reloadSoon = useDebounced(reload, 1_000);
  useLiveEvents(() => {
    if (live) reloadSoon();
  });
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [live, reload]);
  return { ...figures, live };
}
