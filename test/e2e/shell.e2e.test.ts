/**
 * The real UI against the real backend in Chromium (browser mode): navigation, live status bar,
 * empty states, backup, the token and Host checks, and a screenshot of every screen.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, launchBrowser, screenshot, startBackend } from './harness';

let backend: Backend;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  backend = await startBackend();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  (page as Page & { errors?: string[] }).errors = errors;
  await page.goto(backend.url);
});

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
});

describe('app shell in Chromium', () => {
  it('shows the navigation and a live status bar', async () => {
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const label of ['Runs', 'New run', 'Devices', 'Compare', 'Trends', 'Settings']) await expect(nav.getByRole('link', { name: label }).count()).resolves.toBe(1);
    // The compute backend loads in the background: the status bar updates by itself (an event).
    await expect.poll(() => page.getByTestId('status-backend').textContent(), { timeout: 30_000 }).toMatch(/Compute: (wasm|tensorflow|cpu)/);
    await expect.poll(() => page.getByTestId('status-adb').textContent()).toMatch(/ADB: (ready|server not running|not installed)/);
    expect(await page.getByTestId('status-db').textContent()).toBe(path.join(backend.dataDir, 'history.sqlite'));
    expect(page.url()).not.toContain('token='); // the token leaves the address bar
  });

  it('every screen has an empty state that says what to do first', async () => {
    for (const [hash, text] of [
      ['#/runs', 'No runs yet'],
      ['#/devices', 'No devices yet'],
      ['#/compare', 'Nothing to compare yet'],
      ['#/trends', 'No history yet'],
      ['#/new', 'PocketBench compresses image and tabular classifiers'],
    ] as const) {
      await page.goto(new URL(hash, backend.url.split('#')[0]).href);
      await page.getByText(text).first().waitFor();
      await screenshot(page, `shell-${hash.slice(2)}`);
    }
  });

  it('backs up the history from Settings', async () => {
    await page.goto(new URL('#/settings', backend.url.split('#')[0]).href);
    await page.getByTestId('backup').click();
    const result = await page.getByTestId('backup-result').textContent();
    const saved = /Saved (\S+)/.exec(result ?? '')![1];
    expect(fs.existsSync(saved)).toBe(true);
    expect(saved.startsWith(path.join(backend.dataDir, 'backups'))).toBe(true);
    await screenshot(page, 'shell-settings');
  });

  it('keyboard: Alt+3 opens Devices', async () => {
    await page.keyboard.press('Alt+3');
    await page.getByRole('heading', { name: 'Devices', exact: true }).waitFor();
  });

  it('logged no errors in the page', () => {
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
  });

  it('refuses a page opened without the token', async () => {
    const p2 = await browser.newPage();
    await p2.goto(`http://127.0.0.1:${backend.port}/`);
    await p2.getByRole('alert').filter({ hasText: 'access token' }).first().waitFor();
    await p2.close();
  });
});
