import { lazy, Suspense, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { describeLoadFailure } from '../../api/describeError.ts';
import { visitStages, type VisitView } from '../../api/types.ts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Field } from '../../components/Field.tsx';
import { StageColumn } from './StageColumn.tsx';
import { useVisitBoard } from './useVisitBoard.ts';
import { VisitTimeline } from './VisitTimeline.tsx';

// The charts' library is large and only the manager's screen draws charts: loaded with it, apart.
const WaitingTimesSection = lazy(() => import('./waitingTimes/WaitingTimesSection.tsx').then((module) => ({ default: module.WaitingTimesSection })));

function matches(visit: VisitView, search: string): boolean {
  const needle = search.trim().toLocaleLowerCase();
  return needle === '' || visit.patientName.toLocaleLowerCase().includes(needle) || visit.patientId.toLocaleLowerCase().includes(needle);
}

/**
 * The patient-management board: every visit by stage, live, searchable, with the selected visit's
 * timeline; and the waiting times of the day below.
 */
export function BoardScreen() {
  const { t } = useTranslation();
  const board = useVisitBoard();
  const [search, setSearch] = useState('');
  const [selectedId, setSelectedId] = useState<number | null>(null);

  const shown = useMemo(() => [...board.visits.values()].filter((visit) => matches(visit, search)).sort((a, b) => a.receptionId - b.receptionId), [board.visits, search]);
  const byStage = useMemo(() => Map.groupBy(shown, (visit) => visit.stage), [shown]);
  const selected = selectedId === null ? undefined : board.visits.get(selectedId);

  return (
    <div className="screen board-screen">
      <h1>{t('screens.board')}</h1>
      <section className="board" aria-labelledby="board-stages-heading" aria-busy={board.loading || undefined}>
        <h2 id="board-stages-heading" className="visually-hidden">
          {t('board.stages')}
        </h2>
        <div className="board-tools">
          <Field id="board-search" type="search" label={t('board.search')} value={search} onChange={setSearch} autoComplete="off" marker={false} />
          <p className="secondary-text" aria-live="polite">
            {t('board.shown', { shown: shown.length, total: board.visits.size })}
          </p>
        </div>
        <ErrorAlert message={describeLoadFailure(board.error, t)} />
        <div className="stage-grid">
          {visitStages.map((stage) => (
            <StageColumn key={stage} stage={stage} visits={byStage.get(stage) ?? []} selectedId={selectedId} onSelect={setSelectedId} />
          ))}
        </div>
      </section>
      <VisitTimeline visit={selected} />
      <Suspense fallback={<p className="empty">{t('app.loading')}</p>}>
        <WaitingTimesSection />
      </Suspense>
    </div>
  );
}
