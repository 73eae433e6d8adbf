import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { SessionProvider } from './auth/SessionContext.tsx';
import { ToastProvider } from './components/Toasts.tsx';
import { ConfigProvider } from './config/ConfigContext.tsx';
import { loadConsoleConfig } from './config/consoleConfig.ts';
import { setupI18n } from './i18n/setup.ts';
import { DisplaySessionGuard } from './waitingRoom/display/DisplayApp.tsx';
import { waitingRoomRoute } from './waitingRoom/routes.ts';
import { WaitingRoomPage } from './waitingRoom/WaitingRoomPage.tsx';
import i18next from 'i18next';
import './styles.css';

/**
 * Texts and the gateway's config first: the sign-in screen needs both to render. The waiting
 * room's pages (a call screen, a patient's ticket) have paths of their own; everything else is
 * the staff console, whose screens are in the hash.
 */
async function start(): Promise<void> {
  const root = createRoot(document.getElementById('root')!);
  await setupI18n();
  let config;
  try {
    config = await loadConsoleConfig();
  } catch {
    root.render(
      <main className="main">
        <h1>{i18next.t('app.title')}</h1>
        <p role="alert" className="alert">
          {i18next.t('app.configError')}
        </p>
      </main>,
    );
    return;
  }
  const waitingRoom = waitingRoomRoute(location.pathname);
  root.render(
    <StrictMode>
      <ConfigProvider config={config}>
        {waitingRoom ? (
          <WaitingRoomPage route={waitingRoom} />
        ) : (
          <SessionProvider>
            <DisplaySessionGuard>
              <ToastProvider>
                <App />
              </ToastProvider>
            </DisplaySessionGuard>
          </SessionProvider>
        )}
      </ConfigProvider>
    </StrictMode>,
  );
}

void start();
