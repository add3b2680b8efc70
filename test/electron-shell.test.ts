/**
 * The Electron binary cannot be downloaded here, so this loads the *built* main and preload bundles
 * with a stand-in `electron` module and checks that they start, serve every contract method over
 * one IPC handler, and create the window with the hardened settings.
 * (With ELECTRON_OVERRIDE_DIST_PATH set, test/electron-app.test.ts also starts the real binary.)
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { IPC_CALL, IPC_EVENT } from '../src-shared/channels';
import { methodNames } from '../src-shared/contract';

const root = path.resolve(import.meta.dirname, '..');
const mainBundle = path.join(root, 'out/main/index.js');
const preloadBundle = path.join(root, 'out/preload/index.cjs');

describe.runIf(fs.existsSync(mainBundle))('built Electron main bundle', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-electron-'));
  const reportFile = path.join(dir, 'report.json');
  execFileSync(process.execPath, ['--import', path.join(root, 'test/electron-stub/register.mjs'), mainBundle], {
    env: { ...process.env, POCKETBENCH_DATA_DIR: dir, STUB_REPORT: reportFile, STUB_METHODS: JSON.stringify(methodNames), ANDROID_ADB_SERVER_PORT: '1' },
    timeout: 60_000,
    stdio: 'pipe',
  });
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));

  it('creates one window with the security settings', () => {
    expect(report.windows).toHaveLength(1);
    const prefs = report.windows[0].webPreferences;
    expect(prefs).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false });
    expect(prefs.preload).toMatch(/out\/preload\/index\.cjs$/);
    expect(report.sandboxEnabled).toBe(true);
    expect(report.loadedUrls[0]).toMatch(/^file:.*out\/renderer\/index\.html$/);
  });

  it('sets a strict CSP, denies permissions, blocks navigation and new windows', () => {
    expect(report.cspHeader).toContain("default-src 'self'");
    expect(report.cspHeader).toContain("script-src 'self'");
    const scriptSrc = (report.cspHeader as string).split(';').find((d) => d.trim().startsWith('script-src'));
    expect(scriptSrc).not.toMatch(/unsafe/);
    expect(report.permissionGranted).toBe(false);
    expect(report.permissionCheck).toBe(false);
    expect(report.navigation.externalBlocked).toBe(true);
    expect(report.windowOpen).toEqual({ action: 'deny' });
  });

  it('registers one IPC handler that serves every contract method and checks the sender', () => {
    expect(report.ipcHandles).toEqual([IPC_CALL]);
    expect(report.calls.status.ok).toBe(true);
    expect(report.calls.status.result.transport).toBe('electron');
    expect(report.calls.untrusted).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(report.calls.unknown).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    for (const m of methodNames) expect(report.calls.perMethod[m], m).not.toBe('UNKNOWN_METHOD');
  });
});

describe.runIf(fs.existsSync(preloadBundle))('built preload bundle', () => {
  it('is CommonJS, requires only electron, and exposes exactly the contract transport', async () => {
    const code = fs.readFileSync(preloadBundle, 'utf8');
    const required: string[] = [];
    const exposed: Record<string, unknown> = {};
    const sent: unknown[][] = [];
    const listeners: Record<string, (e: unknown, ...a: unknown[]) => void> = {};
    const electron = {
      contextBridge: { exposeInMainWorld: (k: string, v: unknown) => (exposed[k] = v) },
      ipcRenderer: {
        invoke: async (...a: unknown[]) => (sent.push(a), { ok: true, result: 'pong' }),
        on: (ch: string, l: (e: unknown, ...a: unknown[]) => void) => (listeners[ch] = l),
        removeListener: () => {},
      },
    };
    // Sandboxed preloads get a restricted `require`; emulate it and refuse anything but electron.
    const sandboxRequire = (id: string) => {
      required.push(id);
      if (id !== 'electron') throw new Error(`sandboxed preload cannot require ${id}`);
      return electron;
    };
    vm.runInNewContext(code, { require: sandboxRequire, module: { exports: {} }, exports: {}, console });
    expect(required).toEqual(['electron']);
    expect(Object.keys(exposed)).toEqual(['pocketbench']);
    const api = exposed.pocketbench as { invoke: (m: string, a: unknown) => Promise<unknown>; subscribe: (l: (e: string, p: unknown) => void) => () => void };
    expect(Object.keys(api).sort()).toEqual(['invoke', 'subscribe']);
    expect(await api.invoke('app.status', null)).toEqual({ ok: true, result: 'pong' });
    expect(sent[0]).toEqual([IPC_CALL, 'app.status', null]);
    const got: unknown[] = [];
    api.subscribe((e, p) => got.push([e, p]));
    listeners[IPC_EVENT]({}, 'runs.changed', { runId: 1 });
    expect(got).toEqual([['runs.changed', { runId: 1 }]]);
  });
});
