/**
 * The Electron shell: one hardened window, the contract over IPC, native dialogs.
 * The only folder that imports `electron`.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, session, shell, utilityProcess } from 'electron';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { methods } from '../../src-shared/contract';
import { createHost, type FileDialogOptions, type Host } from '../host';
import type { SpawnWorker } from '../pipeline/worker-process';
import { forwardEvents, registerIpc, trustedSenderPredicate } from './ipc';
import { APP_CSP, denyPermissionCheck, denyPermissionRequest, quitAfterCleanup, rendererUrlFor, secureWebPreferences } from './security';

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererUrl = rendererUrlFor(process.env, app.isPackaged, pathToFileURL(path.join(here, '../renderer/index.html')).href);

let win: BrowserWindow | null = null;
let host: Host | null = null;

// The installer's bundled files (Fashion-MNIST in <resources>/datasets) are found through this,
// also by pipeline workers (utility processes inherit the environment).
if (app.isPackaged) process.env.POCKETBENCH_RESOURCES_DIR ??= process.resourcesPath;

app.enableSandbox();
if (!app.requestSingleInstanceLock()) app.quit();

app.on('second-instance', () => {
  if (win) {
    if (win.isMinimized()) win.restore();
    win.focus();
  }
});

// No window may navigate away from the app or open another window; links open in the system browser.
app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (event, url) => {
    if (url !== rendererUrl) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (/^https:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
});

async function pickFiles(opts: FileDialogOptions): Promise<string[]> {
  const filters = opts.filters ?? [];
  if (opts.save) {
    const r = await dialog.showSaveDialog(win!, { title: opts.title, defaultPath: opts.defaultName, filters });
    return r.canceled || !r.filePath ? [] : [r.filePath];
  }
  const properties: ('openFile' | 'openDirectory' | 'multiSelections')[] = [opts.directory ? 'openDirectory' : 'openFile'];
  if (opts.multiple) properties.push('multiSelections');
  const r = await dialog.showOpenDialog(win!, { title: opts.title, properties, filters });
  return r.canceled ? [] : r.filePaths;
}

/** Pipeline workers run in Electron utility processes (a Node child process outside Electron). */
const spawnUtility: SpawnWorker = (entry, name) => {
  const child = utilityProcess.fork(entry, [], { serviceName: name ?? 'PocketBench worker', stdio: 'inherit' });
  return {
    get pid() {
      return child.pid;
    },
    send: (m) => child.postMessage(m),
    onMessage: (cb) => child.on('message', (m: unknown) => cb(m as never)),
    onExit: (cb) => child.once('exit', (code) => cb(code, null)),
    kill: () => void child.kill(),
  };
};

function createWindow(): BrowserWindow {
  const w = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    title: 'PocketBench',
    show: false,
    backgroundColor: '#14161a',
    webPreferences: secureWebPreferences(path.join(here, '../preload/index.cjs')),
  });
  w.once('ready-to-show', () => w.show());
  void w.loadURL(rendererUrl);
  return w;
}

app.whenReady().then(() => {
  // Strict CSP on every response the renderer loads, and no permission (camera, notifications...) granted.
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [APP_CSP] } });
  });
  session.defaultSession.setPermissionRequestHandler(denyPermissionRequest);
  session.defaultSession.setPermissionCheckHandler(denyPermissionCheck);

  host = createHost({ transport: 'electron', dataDir: app.getPath('userData'), pickFiles, showInFolder: (p: string) => shell.showItemInFolder(p), builtDir: here, spawnWorker: spawnUtility });
  registerIpc(ipcMain, methods, host.handlers, { transport: 'electron' as const }, trustedSenderPredicate(rendererUrl));
  forwardEvents((l) => host!.bus.subscribe(l), () => win?.webContents ?? null);

  if (process.platform !== 'darwin') Menu.setApplicationMenu(null);
  win = createWindow();
  win.on('closed', () => (win = null));

  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) win = createWindow();
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

app.on(
  'will-quit',
  quitAfterCleanup(
    async () => {
      await host?.close();
      host = null;
    },
    () => app.quit(),
  ),
);
