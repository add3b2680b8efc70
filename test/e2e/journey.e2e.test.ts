/**
 * The whole journey in Chromium against the real backend, nothing seeded: start a run from a preset
 * on a small slice of Fashion-MNIST, watch it finish, profile its .tflite on a (simulated) phone
 * from the run view, compare two of its artifacts, and save a screenshot of every screen
 * (test-results/screenshots/journey-*.png).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EM_AARCH64, fakeElf } from '../helpers/fake-elf';
import { type LabSim, type SimPhone, simAvailable, simUnavailableReason, startLabSim } from '../helpers/sim-lab';
import { type Backend, launchBrowser, screenshot, startBackend } from './harness';

let backend: Backend;
let browser: Browser;
let page: Page;
let sim: LabSim | null = null;
let phone: SimPhone | null = null;
let runUrl = '';
const base = () => backend.url.split('#')[0];
const go = (hash: string) => page.goto(new URL(hash, base()).href);

beforeAll(async () => {
  const env: Record<string, string> = {};
  if (simAvailable) {
    sim = await startLabSim();
    phone = await sim.device('pixel');
    // A phone over TCP is listed once it is connected (a USB phone would be listed at once).
    await sim.adb(['connect', phone.serial]);
    env.ANDROID_ADB_SERVER_PORT = String(sim.adbPort);
  } else {
    console.log(`journey e2e: profiling on "This computer" only, the simulated phone is SKIPPED: ${simUnavailableReason}`);
  }
  backend = await startBackend(env);
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
  await page.goto(backend.url);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
  await sim?.close();
});

describe('the journey of a user who does not code', () => {
  it('starts the one-minute check preset and watches it finish', async () => {
    await screenshot(page, 'journey-runs-empty');
    await go('#/new');
    await page.getByTestId('preset-select').selectOption('quick-check');
    for (const tab of ['1. Dataset', '2. Teacher', '3. Student', '4. Stages']) {
      await page.getByRole('tab', { name: tab }).click();
      await screenshot(page, `journey-wizard-${tab.slice(3).toLowerCase()}`);
    }
    await page.getByRole('tab', { name: '5. Review' }).click();
    await screenshot(page, 'journey-wizard-review');
    await page.getByTestId('start-run').click();
    await page.waitForURL(/#\/runs\/\d+$/);
    runUrl = page.url();
    await page.getByTestId('stage-0').waitFor();
    // Live progress: the first stage's bar shows while it trains.
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 600_000, interval: 1000 }).toMatch(/succeeded|failed/);
    const log = (await page.getByTestId('run-log').textContent().catch(() => '')) ?? '';
    expect(await page.getByTestId('run-status').textContent(), `the run failed:\n${log}\n${backend.output().slice(-3000)}`).toBe('succeeded');
    for (let i = 0; i < 5; i++) expect(await page.getByTestId(`stage-results-${i}`).count(), `stage ${i} shows its results`).toBeGreaterThan(0);
    await screenshot(page, 'journey-run-finished');
  }, 660_000);

  it('inspects the student layer by layer', async () => {
    const btn = page.locator('[data-testid^="inspect-model-"]').first();
    await btn.click();
    const inspector = page.locator('[data-testid^="model-inspector-"]').first();
    await inspector.waitFor();
    expect(await inspector.locator('tbody tr').count()).toBeGreaterThan(3);
    expect(await inspector.textContent()).toMatch(/Conv2D/);
  });

  it('profiles the exported .tflite from the run view', async () => {
    if (sim && phone) {
      // A benchmark_model for the phone's ABI, set on the Devices page like a user would.
      const runner = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pb-runner-')), 'benchmark_model');
      fs.writeFileSync(runner, fakeElf(EM_AARCH64, 64 * 1024));
      await go('#/devices');
      await page.getByTestId('live-devices').getByText(phone.serial).first().waitFor({ timeout: 60_000 });
      await page.locator('#runner-arm64-v8a').fill(runner);
      await page.locator('#runner-arm64-v8a').blur();
      await page.getByTestId('runners').locator('tr', { hasText: 'arm64-v8a' }).getByRole('button', { name: 'Use file' }).click();
      await page.getByTestId('runners').locator('tr', { hasText: 'arm64-v8a' }).getByText('file').first().waitFor();
      await screenshot(page, 'journey-devices');
      await page.goto(runUrl);
    }
    const open = page.locator('[data-testid^="profile-open-"]').first();
    await open.click();
    const form = page.locator('[data-testid^="profile-form-"]').first();
    // A phone is labelled by its make and model once its facts are read.
    const target = sim && phone ? form.locator('label', { hasText: 'Google Pixel 7' }) : form.locator('label', { hasText: 'This computer' });
    await target.locator('input[type=checkbox]').check();
    await form.locator('input[type=number]').nth(2).fill('2'); // trials
    await form.getByRole('button', { name: 'Start' }).click();
    const result = page.locator('[data-testid^="profile-result-"]').first();
    await expect.poll(() => result.textContent(), { timeout: 240_000, interval: 1000 }).toMatch(/median [\d.]+ ms|failed|cancelled/);
    expect(await result.textContent()).toMatch(/median [\d.]+ ms \([\d.]+ % interval/);
    await screenshot(page, 'journey-profiled');
  }, 300_000);

  it('compares two artifacts of the run against a baseline', async () => {
    await go('#/compare');
    const table = page.getByTestId('compare-table');
    await table.locator('tbody tr').first().waitFor();
    const rows = table.locator('tbody tr');
    expect(await rows.count()).toBeGreaterThanOrEqual(2);
    const tflite = rows.filter({ hasText: '.tflite' }).first();
    const student = rows.filter({ hasNotText: '.tflite' }).filter({ hasText: 'student' }).first();
    await student.locator('input[type=checkbox]').check();
    await tflite.locator('input[type=checkbox]').check();
    await student.getByRole('radio').check();
    await page.getByTestId('compare-only-selected').click();
    await expect.poll(() => table.locator('tbody tr').count()).toBe(2);
    // The INT8 file is smaller than the float student: a negative size delta against the baseline.
    expect(await table.locator('tbody tr').filter({ hasText: '.tflite' }).first().textContent()).toMatch(/-\d+(\.\d)? %/);
    await screenshot(page, 'journey-compare');
  });

  it('every other screen renders with the run in it', async () => {
    for (const [hash, name] of [['#/runs', 'runs'], ['#/devices', 'devices-after'], ['#/trends', 'trends'], ['#/settings', 'settings']] as const) {
      await go(hash);
      await page.locator('main h1').first().waitFor();
      await page.waitForTimeout(300);
      await screenshot(page, `journey-${name}`);
    }
    await go('#/runs');
    // The list loads after the page shows: wait for the run instead of counting at once.
    await page.getByText('Quick check').first().waitFor({ timeout: 30_000 });
  });
});
