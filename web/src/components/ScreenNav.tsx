import { useTranslation } from 'react-i18next';
import type { ScreenId } from '../screens/registry.ts';

/** Links between the screens of the signed-in roles; the current one is aria-current="page". */
export function ScreenNav({ ids, current }: { ids: readonly ScreenId[]; current: ScreenId }) {
  const { t } = useTranslation();
  return (
    <nav className="screen-nav" aria-label={t('app.nav')}>
      <ul>
        {ids.map((id) => (
          <li key={id}>
            <a href={`#/${id}`} aria-current={id === current ? 'page' : undefined}>
              {t(`screens.${id}`)}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
