import { useTranslation } from 'react-i18next';

type PagerProps = { page: number; size: number; total: number; onPage: (page: number) => void };

/**
 * Previous and next page, and where this page is (announced politely as it changes). The buttons
 * at either end are aria-disabled rather than disabled, so the focus stays on the button just
 * pressed instead of falling back to the page.
 */
export function Pager({ page, size, total, onPage }: PagerProps) {
  const { t } = useTranslation();
  const pages = Math.max(1, Math.ceil(total / size));
  const hasPrevious = page > 0;
  const hasNext = page + 1 < pages;
  return (
    <nav className="pager" aria-label={t('accessLog.paging.label')} data-page={page} data-pages={pages} data-total={total}>
      <button type="button" className="button secondary" aria-disabled={!hasPrevious || undefined} onClick={() => hasPrevious && onPage(page - 1)}>
        {t('accessLog.paging.previous')}
      </button>
      <p aria-live="polite">{t('accessLog.paging.status', { page: page + 1, pages, total })}</p>
      <button type="button" className="button secondary" aria-disabled={!hasNext || undefined} onClick={() => hasNext && onPage(page + 1)}>
        {t('accessLog.paging.next')}
      </button>
    </nav>
  );
}
