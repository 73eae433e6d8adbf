import { createContext, useContext, type ReactNode } from 'react';
import type { ConsoleConfig } from './consoleConfig.ts';

const ConfigContext = createContext<ConsoleConfig | null>(null);

export function ConfigProvider({ config, children }: { config: ConsoleConfig; children: ReactNode }) {
  return <ConfigContext.Provider value={config}>{children}</ConfigContext.Provider>;
}

export function useConsoleConfig(): ConsoleConfig {
  const config = useContext(ConfigContext);
  if (!config) throw new Error('useConsoleConfig outside ConfigProvider');
  return config;
}
