/**
 * Narrow windows (issue 17): at 800 and 1,024 px wide the review step's estimate table fits its card,
 * the page never scrolls sideways, and the columns that matter (stage, time) are on screen. Every
 * other screen, with a finished run in the history, fits too (a table too wide for 800 px scrolls
 * on its own) and has no serious accessibility violation.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousA11yViolations } from './axe';
import { type Backend, launchBrowser, runPresetWithCli, screenshot, startBackend } from './harness';

let backend: Backend;
let browser: Browser;
const base = () => backend.url.split('#')[0];

let runId = 0;

beforeAll(async () => {
  // A finished run (every stage, profiled on this computer), made by the CLI as a user would.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-narrow-'));
  runId = runPresetWithCli(dataDir).id;
  backend = await startBackend({}, dataDir);
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
});

/** Widths of the page and of the app's scrolling <main>, as laid out. */
function sideways(page: Page) {
  return page.evaluate(`(() => {
    const main = document.querySelector('main');
    return { page: document.documentElement.scrollWidth, window: window.innerWidth, main: main.scrollWidth, mainBox: main.clientWidth, mainRight: main.getBoundingClientRect().right };
  })()`) as Promise<{ page: number; window: number; main: number; mainBox: number; mainRight: number }>;
}

describe.each([800, 1024])('a %i px wide window', (width) => {
  let page: Page;
  beforeAll(async () => {
    page = await browser.newPage({ viewport: { width, height: 800 } });
    await page.goto(backend.url);
    await page.goto(new URL('#/new', base()).href);
  });
  afterAll(() => page?.close());

  it('fits the review step and its estimate table without sideways scrolling', async () => {
    await page.getByTestId('preset-select').selectOption('demo');
    await page.getByRole('tab', { name: '5. Review' }).click();
    const estimate = page.getByTestId('recipe-estimate');
    const table = estimate.locator('table');
    await table.waitFor({ timeout: 120_000 });
    // The distill row carries the longest note: it must wrap, not widen the page.
    await estimate.getByText('trainings of the student').waitFor();
    const w = await sideways(page);
    expect(w.page).toBeLessThanOrEqual(w.window);
    expect(w.main).toBeLessThanOrEqual(w.mainBox);
    const fit = await table.evaluate((t) => ({ table: t.scrollWidth, box: (t.parentElement as unknown as { clientWidth: number }).clientWidth }));
    expect(fit.table).toBeLessThanOrEqual(fit.box);
    for (const name of ['Stage', 'Batches', 'ms / batch', 'Time']) {
      const box = (await table.getByRole('columnheader', { name, exact: true }).boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(w.mainRight);
    }
    const distill = table.locator('tbody tr', { hasText: 'distill' });
    expect(await distill.locator('td').nth(3).textContent()).toMatch(/\d+(\.\d)? s|\d+ min \d+ s|\d+ h \d+ min/);
    await screenshot(page, `narrow-${width}-review`);
  }, 150_000);

  it.each(['runs', 'runs/RUN', 'compare', 'trends', 'devices', 'settings'])('fits #/%s without sideways scrolling, with no serious accessibility violation', async (screen) => {
    await page.goto(new URL(`#/${screen.replace('RUN', String(runId))}`, base()).href);
    await page.locator('main h1').first().waitFor();
    if (screen === 'runs/RUN') await page.getByTestId('run-summary').waitFor();
    if (screen === 'compare') await page.getByTestId('compare-group').first().locator('tbody tr').first().waitFor();
    if (screen === 'devices') await page.getByTestId('live-devices').waitFor();
    const w = await sideways(page);
    expect(w.page).toBeLessThanOrEqual(w.window);
    expect(w.main).toBeLessThanOrEqual(w.mainBox + 1); // a sub-pixel rounding at most
    expect(await seriousA11yViolations(page)).toEqual([]);
    if (screen === 'runs/RUN') {
      // Stages are named in words; the interval says the coverage its trials give.
      expect(await page.getByTestId('stage-0').locator('h2').textContent()).toBe('1. Train the teacher');
      expect(await page.getByTestId('summary-latency').textContent()).toMatch(/\d+(\.\d)? % interval/);
    }
    await screenshot(page, `narrow-${width}-${screen.replace('/RUN', '')}`);
  }, 60_000);
});
