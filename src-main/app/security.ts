/** Electron hardening settings in one place, so the tests can check exactly what ships. */
import { contentSecurityPolicy } from '../host/static';

export function secureWebPreferences(preloadPath: string) {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    spellcheck: false,
  } as const;
}

export const APP_CSP = contentSecurityPolicy();

/**
 * The page the window loads, which is also the only origin trusted with IPC. The dev server's URL
 * (ELECTRON_RENDERER_URL, set by electron-vite dev) is honoured only in a development build: in a
 * packaged app anyone who can set an environment variable would otherwise choose the trusted page.
 */
export function rendererUrlFor(env: NodeJS.ProcessEnv, isPackaged: boolean, builtIndexUrl: string): string {
  return !isPackaged && env.ELECTRON_RENDERER_URL ? env.ELECTRON_RENDERER_URL : builtIndexUrl;
}

/** Every permission request and check is refused: the app needs no camera, notifications or the like. */
export const denyPermissionRequest = (_wc: unknown, _permission: string, callback: (granted: boolean) => void): void => callback(false);
export const denyPermissionCheck = (): boolean => false;

/**
 * On quit, wait for the host's cleanup (runners on phones killed, workers stopped, the database
 * closed) before letting the app exit: `will-quit` is held once, then quit goes through.
 */
export function quitAfterCleanup(cleanup: () => Promise<void>, quit: () => void): (event: { preventDefault(): void }) => void {
  let state: 'running' | 'cleaning' | 'done' = 'running';
  return (event) => {
    if (state === 'done') return;
    event.preventDefault();
    if (state === 'cleaning') return;
    state = 'cleaning';
    void cleanup()
      .catch((err: unknown) => console.error('cleanup before quit failed', err))
      .finally(() => {
        state = 'done';
        quit();
      });
  };
}
