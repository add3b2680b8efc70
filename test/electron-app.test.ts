/**
 * Starts the real Electron binary when one is available (ELECTRON_OVERRIDE_DIST_PATH points at its
 * folder): the window opens, the renderer reaches the backend through the preload, and Node is not
 * reachable from the page. Skipped, loudly, when no binary is present.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { _electron as electron } from 'playwright-core';
import { describe, expect, it } from 'vitest';

const dist = process.env.ELECTRON_OVERRIDE_DIST_PATH;
const binary = dist ? path.join(dist, process.platform === 'darwin' ? 'Electron.app/Contents/MacOS/Electron' : process.platform === 'win32' ? 'electron.exe' : 'electron') : '';
const available = Boolean(dist && fs.existsSync(binary));

if (!available) {
  console.warn('[electron-app] SKIPPED: the Electron binary is not available (set ELECTRON_OVERRIDE_DIST_PATH to its folder to run these tests).');
}

describe.runIf(available)('real Electron app', () => {
  it('opens the window, talks to the backend through the preload, and keeps Node out of the page', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-electron-real-'));
    const app = await electron.launch({
      executablePath: binary,
      args: [path.resolve(import.meta.dirname, '..'), '--no-sandbox'],
      env: { ...process.env, POCKETBENCH_DATA_DIR: dataDir } as Record<string, string>,
    });
    try {
      const page = await app.firstWindow();
      await page.getByRole('navigation', { name: 'Main' }).waitFor();
      await expect.poll(() => page.getByTestId('status-db').textContent()).toContain(dataDir);
      expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
      expect(await page.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined');
      expect(await page.evaluate(() => Object.keys((globalThis as unknown as { pocketbench: object }).pocketbench).sort())).toEqual(['invoke', 'subscribe']);
    } finally {
      await app.close();
    }
  });
});
