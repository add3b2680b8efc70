/**
 * Compare and Trends in Chromium over a history seeded in the real store: filters, baseline
 * deltas, Pareto charts, CSV export, and a flagged trend point.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src-main/store';
import { type Backend, launchBrowser, screenshot, startBackend } from './harness';

let backend: Backend;
let browser: Browser;
let page: Page;

function seed(dataDir: string) {
  const own = new Store(path.join(dataDir, 'history.sqlite'), { identity: { madeBy: 'ana', machine: 'lab-1', pid: process.pid } });
  const phone = own.devices.upsert('R58M123', 'android', { manufacturer: 'Samsung', model: 'Galaxy S21', sdk: 33, abis: ['arm64-v8a'] });
  const latencies = [[2100, 30], [2080, 30], [1500, 20]];
  latencies.forEach(([lat, half], i) => {
    // A team history: the last run and its benchmarks were made by another person on another machine.
    const store = i < 2 ? own : new Store(path.join(dataDir, 'history.sqlite'), { identity: { madeBy: 'bob', machine: 'lab-2', pid: process.pid } });
    const runId = store.runs.create({ name: 'fashion chain', recipe: {}, recipeHash: 'h', seed: i, appVersion: 't', status: 'succeeded' });
    const fp32 = store.artifacts.create({ runId, name: 'student-fp32.tflite', format: 'tflite', path: `/x/${i}a`, contentHash: `a${i}`, bytes: 400_000, gzipBytes: 370_000, params: 100_000, precision: 'fp32', metrics: { accuracy: 0.9, deployedAccuracy: 0.9 } });
    const int8 = store.artifacts.create({ runId, parentId: fp32, name: 'student-int8.tflite', format: 'tflite', path: `/x/${i}b`, contentHash: `b${i}`, bytes: 110_000, gzipBytes: 90_000, params: 100_000, precision: 'int8', metrics: { accuracy: 0.897, deployedAccuracy: 0.896 } });
    for (const [a, l] of [[fp32, lat * 2.5], [int8, lat]] as const) {
      const b = store.benchmarks.create({ artifactId: a, deviceId: phone, config: { threads: 4, xnnpack: true } });
      // Six steady trials each: enough for Trends to judge a change (fewer, or a high CV, is "too noisy to tell").
      const trials = [l - half, l - half / 2, l, l, l + half / 2, l + half].map((meanUs) => ({ meanUs }));
      store.benchmarks.finish(b, { status: 'succeeded', latencyUs: l, ciLowUs: l - half, ciHighUs: l + half, ciCoverage: 0.96875, cv: 0.01, peakMemMb: 12, peakMemKind: 'runner-peak', ranDelegate: 'xnnpack' }, trials);
    }
    if (store !== own) store.close();
  });
  own.close();
}

beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-e2e-cmp-'));
  seed(dataDir);
  backend = await startBackend({}, dataDir);
  browser = await launchBrowser();
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  page = await ctx.newPage();
  await page.goto(backend.url);
});

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
});

describe('Compare', () => {
  it('shows artifacts with their benchmarks, deltas against a baseline, and charts', async () => {
    await page.goto(new URL('#/compare', backend.url.split('#')[0]).href);
    const table = page.getByTestId('compare-table');
    await table.locator('tbody tr').first().waitFor();
    expect(await table.locator('tbody tr').count()).toBe(6);
    // Baseline: the first fp32 row; int8 rows then show size deltas.
    const fp32Row = table.locator('tbody tr', { hasText: 'student-fp32.tflite' }).first();
    await fp32Row.getByRole('radio').check();
    const int8Row = table.locator('tbody tr', { hasText: 'student-int8.tflite' }).first();
    expect(await int8Row.textContent()).toMatch(/−?-72\.5 %/);
    await page.getByTestId('chart-latency').locator('canvas').waitFor();
    await screenshot(page, 'compare');
  });

  it('exports the table as CSV', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv-compare').click()]);
    const file = await download.path();
    const csv = fs.readFileSync(file!, 'utf8');
    expect(csv.split('\r\n')[0]).toContain('artifact,artifact_id,run,precision');
    expect(csv.split('\r\n').filter(Boolean)).toHaveLength(7);
  });

  it('filters by device', async () => {
    await page.getByTestId('filter-device').selectOption({ label: 'Samsung Galaxy S21' });
    await page.waitForTimeout(200);
    expect(await page.getByTestId('compare-table').locator('tbody tr').count()).toBe(6);
  });

  it('filters a team history by person and machine', async () => {
    const rows = page.getByTestId('compare-table').locator('tbody tr');
    await page.getByTestId('filter-person').selectOption('bob');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.first().textContent()).toContain('by bob on lab-2');
    await page.getByTestId('filter-person').selectOption('');
    await page.getByTestId('filter-machine').selectOption('lab-1');
    await expect.poll(() => rows.count()).toBe(4);
    await page.getByTestId('filter-machine').selectOption('');
    await expect.poll(() => rows.count()).toBe(6);
  });
});

describe('Trends', () => {
  it('plots a lineage and flags the change beyond noise', async () => {
    await page.goto(new URL('#/trends', backend.url.split('#')[0]).href);
    await page.getByTestId('trend-lineage').waitFor();
    const select = page.getByTestId('trend-lineage');
    const label = (await select.locator('option').allTextContents()).find((t) => t.includes('student-int8.tflite'))!;
    await select.selectOption({ label });
    await expect.poll(() => page.getByTestId('trend-flagged').textContent()).toBe('1 flagged change.');
    await screenshot(page, 'trends');
  });
});
