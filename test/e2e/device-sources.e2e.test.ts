/**
 * Settings → Device sources in Chromium against the real backend: a malformed host:port is refused
 * beside the field (the contract's own zod schema), a second real `adb` server with a simulated
 * phone is added by host:port, shows connected with its device count, and the Devices page shows
 * its phone as coming from that source.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdbServer, connect, type SimDevice, startAdbServer, startSimDevice } from '../sim-device';
import { seriousA11yViolations } from './axe';
import { type Backend, launchBrowser, screenshot, startBackend } from './harness';

let backend: Backend;
let browser: Browser;
let page: Page;
let dataDir: string;
let local: AdbServer;
let lab: AdbServer;
let phone: SimDevice;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-e2e-sources-'));
  [local, lab] = await Promise.all([startAdbServer(), startAdbServer()]);
  phone = await startSimDevice('pixel');
  expect(await connect(lab, phone)).toBe('device');
  backend = await startBackend({ ANDROID_ADB_SERVER_PORT: String(local.port), POCKETBENCH_ADB_AUTOSTART: '0' }, dataDir);
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1400, height: 1100 } })).newPage();
  await page.goto(backend.url);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
  await phone?.close();
  for (const s of [local, lab]) await s?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('Settings → Device sources', { timeout: 120_000 }, () => {
  it('refuses a malformed address beside the field, adds a real ADB server, and its phone shows its source', async () => {
    await page.goto(new URL('#/settings', backend.url.split('#')[0]).href);
    const table = page.getByTestId('device-sources');
    await expect.poll(() => table.textContent(), { timeout: 20_000 }).toContain('this computer');
    const form = page.getByRole('form', { name: 'Add a device source' });
    await page.getByTestId('source-address').fill('lab-3');
    await form.getByRole('button', { name: 'Add source' }).click();
    expect(await page.getByTestId('source-problem').textContent()).toMatch(/address: must be host:port/);
    await page.getByTestId('source-address').fill(`127.0.0.1:${lab.port}`);
    await form.getByLabel('Name (optional)').fill('Lab B');
    await form.getByRole('button', { name: 'Add source' }).click();
    const row = table.locator('tr', { hasText: 'Lab B' });
    await expect.poll(() => row.textContent(), { timeout: 20_000 }).toContain('connected');
    expect(await row.textContent()).toContain(`127.0.0.1:${lab.port}`);
    await expect.poll(() => row.locator('td.num').textContent(), { timeout: 20_000 }).toBe('1');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, 'settings-device-sources');

    await page.goto(new URL('#/devices', backend.url.split('#')[0]).href);
    const device = page.getByTestId('live-devices').locator('tr', { hasText: `127.0.0.1:${lab.port}/${phone.serial}` });
    await expect.poll(() => device.textContent(), { timeout: 30_000 }).toContain('from Lab B');
    await expect.poll(() => device.textContent(), { timeout: 30_000 }).toContain('Pixel 7');
  });
});
