/**
 * A stand-in for the `electron` module, just enough for the built main bundle to start under plain
 * Node. It records what the app does (windows, IPC handlers, session hooks), exercises the IPC
 * handler from a trusted and an untrusted frame, and writes a JSON report to $STUB_REPORT.
 */
import fs from 'node:fs';

const report = { windows: [], ipcHandles: [], loadedUrls: [], cspHeader: null, permissionGranted: null, sandboxEnabled: false, calls: {}, navigation: null, windowOpen: null, menuCleared: false };
const appListeners = {};
const contentsListeners = {};
let ipcHandler = null;

function finish() {
  fs.writeFileSync(process.env.STUB_REPORT, JSON.stringify(report, null, 2));
}

export const app = {
  enableSandbox: () => (report.sandboxEnabled = true),
  requestSingleInstanceLock: () => true,
  getPath: () => process.env.POCKETBENCH_DATA_DIR,
  quit: () => {},
  on: (ev, fn) => ((appListeners[ev] ??= []).push(fn), app),
  whenReady: () =>
    Promise.resolve().then(() => {
      setTimeout(async () => {
        // Simulate a web-contents to check navigation and window-open guards.
        const wc = {
          on: (ev, fn) => (contentsListeners[ev] = fn),
          setWindowOpenHandler: (fn) => (contentsListeners.windowOpen = fn),
        };
        for (const fn of appListeners['web-contents-created'] ?? []) fn({}, wc);
        let prevented = false;
        contentsListeners['will-navigate']?.({ preventDefault: () => (prevented = true) }, 'https://evil.example/');
        report.navigation = { externalBlocked: prevented };
        report.windowOpen = contentsListeners.windowOpen?.({ url: 'https://evil.example/' });

        const trusted = report.loadedUrls[0];
        report.calls.status = await ipcHandler({ senderFrame: { url: trusted } }, 'app.status', undefined);
        report.calls.untrusted = await ipcHandler({ senderFrame: { url: 'https://evil.example/' } }, 'app.status', undefined);
        report.calls.unknown = await ipcHandler({ senderFrame: { url: trusted } }, 'no.such.method', undefined);
        const methods = JSON.parse(process.env.STUB_METHODS);
        report.calls.perMethod = {};
        for (const m of methods) {
          const env = await ipcHandler({ senderFrame: { url: trusted } }, m, { __probe: true });
          report.calls.perMethod[m] = env.ok ? 'ok' : env.error.code;
        }
        finish();
        process.exit(0);
      }, 50);
    }),
};

export class BrowserWindow {
  static getAllWindows() {
    return report.windows;
  }
  constructor(opts) {
    report.windows.push(opts);
    this.webContents = { send: () => {}, isDestroyed: () => false };
  }
  once() {}
  on() {}
  show() {}
  loadURL(url) {
    report.loadedUrls.push(url);
    return Promise.resolve();
  }
}

export const ipcMain = {
  handle: (channel, fn) => {
    report.ipcHandles.push(channel);
    ipcHandler = fn;
  },
  removeHandler: () => {},
};

export const session = {
  defaultSession: {
    webRequest: {
      onHeadersReceived: (fn) =>
        fn({ responseHeaders: {} }, (r) => (report.cspHeader = r.responseHeaders['Content-Security-Policy'][0])),
    },
    setPermissionRequestHandler: (fn) => fn(null, 'camera', (granted) => (report.permissionGranted = granted)),
    setPermissionCheckHandler: (fn) => (report.permissionCheck = fn(null, 'notifications', 'file://', {})),
  },
};

export const Menu = { setApplicationMenu: (m) => (report.menuCleared = m === null) };
export const dialog = { showOpenDialog: async () => ({ canceled: true, filePaths: [] }), showSaveDialog: async () => ({ canceled: true }) };
export const shell = { openExternal: async () => {} };
export const utilityProcess = {
  fork: () => {
    throw new Error('the stub does not start utility processes');
  },
};
export const contextBridge = {};
export const ipcRenderer = {};
export default { app, BrowserWindow, ipcMain, session, Menu, dialog, shell, utilityProcess };
