/**
 * The run view of a finished distill stage in Chromium, over a history seeded in the real store:
 * the sweep chart (validation accuracy against T, with the control line) and the control/gain panel,
 * both when distillation helped and when the control won.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CandidateResults, summarize, verdict } from '../../src-main/compress/distill/sweep';
import { Store } from '../../src-main/store';
import { type Backend, launchBrowser, screenshot, startBackend } from './harness';

let backend: Backend;
let browser: Browser;
let page: Page;
const runIds: Record<'helped' | 'control', number> = { helped: 0, control: 0 };

const seedResult = (val: number, test: number) => ({ valAccuracy: val, testAccuracy: test, valCurve: [val - 0.05, val], epochs: 2 });

function seed(dataDir: string) {
  const store = new Store(path.join(dataDir, 'history.sqlite'));
  const make = (name: string, results: CandidateResults[]) => {
    const summary = summarize(results, [1, 2]);
    const runId = store.runs.create({ name, recipe: {}, recipeHash: name, seed: 1, appVersion: 't', status: 'succeeded', stages: [{ kind: 'distill', params: {} }] });
    store.runs.updateStage(runId, 0, { status: 'succeeded', metrics: { accuracy: summary.distilledAccuracies[0], sweep: summary.sweep, distill: summary, note: verdict(summary), gain: summary.gain }, curves: null });
    return runId;
  };
  const control = { plan: { kind: 'control' as const, name: 'control' as const }, perSeed: [seedResult(0.8, 0.79), seedResult(0.81, 0.8)] };
  const kd = (t: number, val: number, test: number) => ({ plan: { kind: 'kd' as const, name: `T=${t} α=0.7`, temperature: t, alpha: 0.7 }, perSeed: [seedResult(val, test), seedResult(val + 0.01, test + 0.02)] });
  runIds.helped = make('few labels', [control, kd(2, 0.84, 0.83), kd(4, 0.86, 0.85), kd(8, 0.83, 0.82)]);
  // The control is better on every seed: a loss beyond the noise margin ("hurt").
  runIds.control = make('all labels', [control, kd(2, 0.77, 0.8), kd(4, 0.78, 0.79)]);
  store.close();
}

beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-e2e-distill-'));
  seed(dataDir);
  backend = await startBackend({}, dataDir);
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1200, height: 1000 } })).newPage();
  await page.goto(backend.url);
});

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
});

const open = (id: number) => page.goto(new URL(`#/runs/${id}`, backend.url.split('#')[0]).href);

describe('distill results in the run view', () => {
  it('shows the sweep chart and the gain over the control with its spread', async () => {
    await open(runIds.helped);
    await page.getByTestId('distill-panel-0').waitFor();
    expect(await page.getByTestId('sweep-chart-0').locator('canvas').count()).toBe(1);
    const panel = await page.getByTestId('distill-panel-0').innerText();
    expect(panel).toContain('Distillation helped');
    expect(panel).toContain('T=4 α=0.7');
    // Gains per seed: 0.85 − 0.79 and 0.87 − 0.80 -> mean 6.50 points, spread 0.71.
    expect(await page.getByTestId('distill-gain-0').innerText()).toMatch(/\+6\.50 points ± 0\.71 \(standard deviation over 2 seeds\)/);
    await screenshot(page, 'run-distill-helped');
  });

  it('says plainly when distillation did not help', async () => {
    await open(runIds.control);
    await page.getByTestId('distill-panel-0').waitFor();
    expect(await page.getByTestId('distill-panel-0').innerText()).toContain('Distillation did not help.');
    expect(await page.getByTestId('stage-note-0').innerText()).toMatch(/^Distillation did not help/);
  });
});
