/**
 * Compare at laptop widths (issue 17): at 1,024 and 1,280 px the columns that matter (model, accuracy,
 * size, latency, peak memory, device) sit inside the pane without sideways scrolling; the extra
 * columns scroll inside a labelled region reachable from the keyboard; the latency interval is
 * labelled with the coverage stored with it; no serious accessibility violation; sorting works from
 * the keyboard alone. Seeded with a real CLI run (benchmarked on this computer) and phone benchmarks
 * by a teammate with the longest device cells the app writes (delegate share, threads, person, machine).
 * Trends at 800 px: "Median latency", the run-to-run variation (CV) explained, the table in its pane.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src-main/store';
import { seriousA11yViolations } from './axe';
import { type Backend, launchBrowser, runPresetWithCli, screenshot, startBackend } from './harness';

let backend: Backend;
let browser: Browser;
const base = () => backend.url.split('#')[0];
const KEY_COLUMNS = ['Model', 'Accuracy', 'Size', 'Latency', 'Peak memory', 'Device'];

function seedPhoneBenchmarks(dataDir: string): void {
  const store = new Store(path.join(dataDir, 'history.sqlite'), { identity: { madeBy: 'bernadette', machine: 'lab-workstation-2', pid: process.pid } });
  try {
    const tflite = store.artifacts.list({ limit: 50, offset: 0 }).items.find((a) => a.format === 'tflite')!;
    const phone = store.devices.upsert('R58M123ABC', 'android', { manufacturer: 'Samsung', model: 'Galaxy S21 Ultra 5G', sdk: 33, abis: ['arm64-v8a'] });
    // Six trials: the order-statistic interval [x(1), x(6)] covers the median with 96.875 %.
    for (const [delegate, share, lat] of [['xnnpack', 1, 2100], ['gpu', 0.45, 1480]] as const) {
      const b = store.benchmarks.create({ artifactId: tflite.id, deviceId: phone, config: { threads: 4, xnnpack: delegate === 'xnnpack', gpu: delegate === 'gpu' } });
      const means = [lat - 40, lat - 15, lat - 5, lat + 5, lat + 20, lat + 45];
      store.benchmarks.finish(b, { status: 'succeeded', latencyUs: lat, ciLowUs: means[0], ciHighUs: means[5], ciCoverage: 0.96875, cv: 0.012, peakMemMb: 38.25, peakMemKind: 'runner-peak', ranDelegate: delegate, delegatedShare: share }, means.map((meanUs) => ({ meanUs })));
    }
  } finally {
    store.close();
  }
}

beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-cmpw-'));
  runPresetWithCli(dataDir);
  seedPhoneBenchmarks(dataDir);
  backend = await startBackend({}, dataDir);
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
});

/** Right edges of the pane (<main>'s content box), the table's scroll region and each key column header. */
async function layout(page: Page) {
  return page.evaluate(`(() => {
    const main = document.querySelector('main');
    const cs = getComputedStyle(main);
    const paneRight = main.getBoundingClientRect().right - parseFloat(cs.paddingRight);
    const region = document.querySelector('[data-testid=compare-scroll]');
    const table = document.querySelector('[data-testid=compare-table]');
    const headers = {};
    for (const th of table.querySelectorAll('thead th')) {
      const r = th.getBoundingClientRect();
      headers[th.textContent.replace(/[▲▼]/g, '').trim()] = { left: Math.round(r.left), right: Math.round(r.right) };
    }
    return {
      window: window.innerWidth,
      page: document.documentElement.scrollWidth,
      pane: Math.round(main.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight)),
      paneRight: Math.round(paneRight),
      regionRight: Math.round(region.getBoundingClientRect().right),
      regionBox: region.clientWidth,
      table: table.scrollWidth,
      headers,
    };
  })()`) as Promise<{ window: number; page: number; pane: number; paneRight: number; regionRight: number; regionBox: number; table: number; headers: Record<string, { left: number; right: number }> }>;
}

describe.each([1024, 1280])('Compare in a %i px wide window', (width) => {
  let page: Page;
  beforeAll(async () => {
    page = await browser.newPage({ viewport: { width, height: 900 } });
    await page.goto(backend.url);
    await page.goto(new URL('#/compare', base()).href);
    await page.getByTestId('compare-table').locator('tbody tr').nth(5).waitFor();
  });
  afterAll(() => page?.close());

  it('shows the columns that matter inside the pane, without sideways scrolling', async () => {
    const l = await layout(page);
    console.log(`compare @${width}px: pane ${l.pane} px, table ${l.table} px, region ${l.regionBox} px`, JSON.stringify(l.headers));
    expect(l.page).toBeLessThanOrEqual(l.window);
    expect(l.table).toBeLessThanOrEqual(l.regionBox);
    for (const name of KEY_COLUMNS) {
      const h = l.headers[name];
      expect(h, `column ${name}`).toBeDefined();
      expect(h.left).toBeGreaterThanOrEqual(0);
      expect(h.right, `${name} right edge`).toBeLessThanOrEqual(Math.min(l.paneRight, l.regionRight));
    }
    // The latency cell states its interval with the coverage stored with it (six trials: 96.9 %), never "95 %".
    const gpuRow = page.getByTestId('compare-table').locator('tbody tr', { hasText: 'gpu, 45 % of nodes' });
    expect(await gpuRow.getByTestId('latency-interval').textContent()).toMatch(/^96\.9 % interval 1\.44–1\.5[23] ms$/);
    const hostRow = page.getByTestId('compare-table').locator('tbody tr', { hasText: 'This computer' });
    expect(await hostRow.getByTestId('latency-interval').textContent()).toMatch(/^50 % interval /);
    expect(await page.getByTestId('compare-table').textContent()).not.toContain('95 %');
    await screenshot(page, `compare-width-${width}`);
  });

  it('has no serious or critical accessibility violation', async () => {
    expect(await seriousA11yViolations(page)).toEqual([]);
  });

  it('sorts from the keyboard alone', async () => {
    const th = page.getByTestId('compare-table').locator('th', { has: page.getByTestId('sort-latency') });
    const latencies = async () => (await page.getByTestId('compare-table').locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-latency')))).filter((v) => v !== '').map(Number);
    // Tab from the top of the page to the Latency header's button.
    await page.locator('body').focus();
    await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { blur?: () => void } } }).document.activeElement.blur?.());
    let reached = false;
    for (let i = 0; i < 80 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.getByTestId('sort-latency').evaluate((b) => b === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement);
    }
    expect(reached).toBe(true);
    await page.keyboard.press('Enter');
    expect(await th.getAttribute('aria-sort')).toBe('ascending');
    const up = await latencies();
    expect(up).toEqual([...up].sort((a, b) => a - b));
    await page.keyboard.press('Space');
    expect(await th.getAttribute('aria-sort')).toBe('descending');
    const down = await latencies();
    expect(down).toEqual([...down].sort((a, b) => b - a));
    expect(down.length).toBeGreaterThanOrEqual(3);
  });

  it('scrolls the extra columns inside a labelled region the keyboard reaches', async () => {
    await page.getByTestId('compare-more-columns').check();
    const region = page.getByTestId('compare-scroll');
    expect(await region.getAttribute('role')).toBe('region');
    expect(await region.getAttribute('aria-label')).toMatch(/Compare table/);
    expect(await region.getAttribute('tabindex')).toBe('0');
    const l = await layout(page);
    console.log(`compare @${width}px with extra columns: table ${l.table} px in a ${l.regionBox} px region`);
    expect(l.page).toBeLessThanOrEqual(l.window);
    if (l.table > l.regionBox) {
      await region.focus();
      await page.keyboard.press('End');
      await page.keyboard.press('ArrowRight');
      await expect.poll(() => region.evaluate((e) => e.scrollLeft)).toBeGreaterThan(0);
    }
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, `compare-width-${width}-more`);
    await page.getByTestId('compare-more-columns').uncheck();
  });
});

describe('Trends in an 800 px wide window', () => {
  let page: Page;
  beforeAll(async () => {
    page = await browser.newPage({ viewport: { width: 800, height: 900 } });
    await page.goto(backend.url);
    await page.goto(new URL('#/trends', base()).href);
    const select = page.getByTestId('trend-lineage');
    await select.waitFor();
    // The phone lineage: two benchmarks of six trials each, the second flagged.
    const label = (await select.locator('option').allTextContents()).find((t) => t.includes('Galaxy S21'))!;
    await select.selectOption({ label });
    await page.getByTestId('trend-table').locator('tbody tr').nth(1).waitFor();
  });
  afterAll(() => page?.close());

  it('labels the median as a median and explains the CV, and fits without sideways scrolling', async () => {
    expect(await page.getByTestId('trend-value-header').textContent()).toBe('Median latency');
    const cv = page.getByTestId('trend-cv-header');
    expect(await cv.textContent()).toBe('Run-to-run variation (CV)');
    expect(await cv.getAttribute('title')).toMatch(/^Coefficient of variation of the trial means: standard deviation over mean\. .*at most 10 %/);
    expect(await page.locator(`#${await cv.getAttribute('aria-describedby')}`).textContent()).toBe(await cv.getAttribute('title'));
    expect(await page.getByTestId('trend-coverage').first().textContent()).toBe('96.9 % interval');
    const fit = await page.evaluate(`(() => {
      const main = document.querySelector('main');
      const t = document.querySelector('[data-testid=trend-table]');
      return { page: document.documentElement.scrollWidth, window: window.innerWidth, main: main.scrollWidth, mainBox: main.clientWidth, table: t.scrollWidth, box: t.parentElement.clientWidth };
    })()`) as { page: number; window: number; main: number; mainBox: number; table: number; box: number };
    console.log(`trends @800px: table ${fit.table} px in ${fit.box} px, main ${fit.main} px in ${fit.mainBox} px`);
    expect(fit.page).toBeLessThanOrEqual(fit.window);
    expect(fit.main).toBeLessThanOrEqual(fit.mainBox);
    expect(fit.table).toBeLessThanOrEqual(fit.box);
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, 'trends-width-800');
  });
});
