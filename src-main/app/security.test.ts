import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { denyPermissionCheck, denyPermissionRequest, quitAfterCleanup, rendererUrlFor } from './security';

const built = 'file:///opt/PocketBench/resources/app.asar/out/renderer/index.html';

describe('Electron hardening', () => {
  it('a packaged app ignores ELECTRON_RENDERER_URL (it would become the page trusted with IPC)', () => {
    expect(rendererUrlFor({ ELECTRON_RENDERER_URL: 'http://evil.example/' }, true, built)).toBe(built);
    expect(rendererUrlFor({ ELECTRON_RENDERER_URL: 'http://localhost:5173/' }, false, built)).toBe('http://localhost:5173/');
    expect(rendererUrlFor({}, false, built)).toBe(built);
  });

  it('refuses every permission, asked or checked', () => {
    let granted: boolean | undefined;
    denyPermissionRequest(null, 'media', (g) => (granted = g));
    expect(granted).toBe(false);
    expect(denyPermissionCheck()).toBe(false);
  });

  it('the packaged binary has its fuses set (no run-as-node, no NODE_OPTIONS or --inspect, asar only)', () => {
    const yml = fs.readFileSync(path.resolve(import.meta.dirname, '../../electron-builder.yml'), 'utf8');
    const fuses = yml.slice(yml.indexOf('electronFuses:'));
    for (const [fuse, value] of Object.entries({ runAsNode: false, enableNodeOptionsEnvironmentVariable: false, enableNodeCliInspectArguments: false, onlyLoadAppFromAsar: true, enableEmbeddedAsarIntegrityValidation: true })) {
      expect(fuses).toMatch(new RegExp(`\\n  ${fuse}: ${value}\\n`));
    }
  });

  it('quit waits for the cleanup (runners stopped, database closed), then goes through once', async () => {
    const order: string[] = [];
    let finish!: () => void;
    const onWillQuit = quitAfterCleanup(
      () => new Promise<void>((r) => (finish = () => (order.push('cleaned'), r()))),
      () => order.push('quit'),
    );
    const held = { prevented: 0, preventDefault() { this.prevented++; } };
    onWillQuit(held);
    onWillQuit(held); // a second quit while cleaning is held too
    expect(held.prevented).toBe(2);
    expect(order).toEqual([]);
    finish();
    await new Promise((r) => setTimeout(r, 0));
    expect(order).toEqual(['cleaned', 'quit']);
    const last = { prevented: 0, preventDefault() { this.prevented++; } };
    onWillQuit(last);
    expect(last.prevented).toBe(0);
  });
});
