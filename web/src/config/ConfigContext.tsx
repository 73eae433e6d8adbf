import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';
import { loadConsoleConfig, type ConsoleConfig } from './consoleConfig.ts';

type ConfigState = { config: ConsoleConfig; noticeUnknownCode: (code: string) => void };

const ConfigContext = createContext<ConfigState | null>(null);

/**
 * The console's settings, and their catalog read again when the console meets a code it does not
 * know: the hospital edits its catalog while the system runs, so a visit may carry a department or
 * an examination added after this console loaded. Each unknown code asks once (old free text, which
 * no catalog will ever name, must not ask on every render), one reload at a time; the catalog is
 * replaced only if its version changed, so a reload that brings nothing new re-renders nothing.
 */
export function ConfigProvider({ config: initial, children }: { config: ConsoleConfig; children: ReactNode }) {
  const [config, setConfig] = useState(initial);
  const asked = useRef(new Set<string>());
  const reloading = useRef(false);
  const noticeUnknownCode = useCallback((code: string) => {
    if (asked.current.has(code) || reloading.current) return;
    asked.current.add(code);
    reloading.current = true;
    loadConsoleConfig()
      .then(
        ({ departments, defaultDepartment, examinations, catalogVersion }) =>
          setConfig((current) => (catalogVersion === current.catalogVersion ? current : { ...current, departments, defaultDepartment, examinations, catalogVersion })),
        // The names stay as they were (the code shown as it is); the next unknown code asks again.
        () => undefined,
      )
      .finally(() => {
        reloading.current = false;
      });
  }, []);
  const value = useMemo(() => ({ config, noticeUnknownCode }), [config, noticeUnknownCode]);
  return <ConfigContext.Provider value={value}>{children}</ConfigContext.Provider>;
}

function useConfigState(): ConfigState {
  const state = useContext(ConfigContext);
  if (!state) throw new Error('useConsoleConfig outside ConfigProvider');
  return state;
}

export function useConsoleConfig(): ConsoleConfig {
  return useConfigState().config;
}

/**
 * What a name lookup calls with a code the catalog lacks. It may be called while rendering: it only
 * starts a request, whose answer updates the settings later.
 */
export function useUnknownCodeNotice(): (code: string) => void {
  return useConfigState().noticeUnknownCode;
}
