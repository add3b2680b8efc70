/**
 * Export in Chromium against the real backend: export a TF.js artifact to full-INT8 .tflite from the
 * run view, measure its desktop accuracy (LiteRT on this computer) shown beside the TF.js accuracy,
 * run it on this computer, inspect it; on Devices, inspect and import a .tflite from another converter.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recipeSchema } from '../../src-shared/recipe';
import { buildTemplate, saveModel } from '../../src-main/models';
import { Store } from '../../src-main/store';
import { initBackend } from '../../src-main/tf';
import { type Backend, launchBrowser, screenshot, startBackend } from './harness';

const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/models/face_detection_short_range.tflite');
let backend: Backend;
let browser: Browser;
let page: Page;
let runId: number;
let studentId: number;

async function seed(dataDir: string) {
  await initBackend({ prefer: 'cpu' });
  const store = new Store(path.join(dataDir, 'history.sqlite'));
  const recipe = recipeSchema.parse({ name: 'export e2e', seed: 3, dataset: { kind: 'fashion-mnist', limitTrain: 200, limitTest: 40 }, stages: [{ kind: 'train-teacher' }] });
  runId = store.runs.create({ name: recipe.name, recipe, recipeHash: '0123456789abcdef', seed: 3, appVersion: 't', status: 'succeeded', stages: [{ kind: 'train-teacher' }] });
  const stageId = store.runs.get(runId)!.stages[0].id;
  const saved = await saveModel(buildTemplate({ template: 'lenet', inputShape: [28, 28, 1], numClasses: 10, width: 0.25, seed: 4 }), path.join(dataDir, 'artifacts'));
  studentId = store.artifacts.create({ runId, stageId, name: 'student', format: 'tfjs-layers', path: saved.path, contentHash: saved.contentHash, bytes: saved.bytes, metrics: { accuracy: 0.1 } });
  store.close();
}

beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-e2e-export-'));
  await seed(dataDir);
  backend = await startBackend({}, dataDir);
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
  await page.goto(backend.url);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
});

describe('export in the UI', () => {
  it('exports to INT8 .tflite, shows desktop accuracy beside TF.js, runs it on this computer, inspects it', async () => {
    await page.goto(new URL(`#/runs/${runId}`, backend.url.split('#')[0]).href);
    const source = page.getByTestId(`artifact-export-${studentId}`);
    await source.getByRole('button', { name: 'Export .tflite' }).click();
    const tflite = page.locator('[data-testid^="artifact-export-"]', { has: page.getByRole('button', { name: 'Desktop accuracy' }) });
    await tflite.first().waitFor({ timeout: 60_000 });
    expect(await page.getByText(/student · int8\.tflite/).count()).toBe(1);
    await tflite.getByRole('button', { name: 'Desktop accuracy' }).click();
    const acc = page.getByTestId('deployed-accuracy');
    await acc.waitFor({ timeout: 60_000 });
    expect(await acc.textContent()).toMatch(/Desktop \(LiteRT\) [\d.]+ ?%.*TF\.js 10(\.0)? ?%/);
    await tflite.getByRole('button', { name: 'Run on this computer' }).click();
    await page.getByTestId('host-benchmark').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('host-benchmark').textContent()).toMatch(/median [\d.]+ ms.*p99/);
    await tflite.getByRole('button', { name: 'Inspect' }).click();
    const inspector = page.getByTestId('tflite-inspector');
    await inspector.waitFor();
    expect(await inspector.textContent()).toMatch(/int8[\s\S]*CONV_2D[\s\S]*FULLY_CONNECTED/);
    await screenshot(page, 'export-run-view');
  });

  it('inspects and imports a .tflite from another converter on the Devices page', async () => {
    await page.goto(new URL('#/devices', backend.url.split('#')[0]).href);
    const card = page.getByTestId('host-target');
    await card.locator('#import-tflite').fill(FIXTURE);
    await card.getByRole('button', { name: 'Inspect', exact: true }).click();
    await card.getByTestId('tflite-inspector').waitFor();
    expect(await card.getByTestId('tflite-inspector').textContent()).toMatch(/\[1, 128, 128, 3\]/);
    await card.getByRole('button', { name: 'Import', exact: true }).click();
    await card.getByTestId('imported-artifact').waitFor();
    await card.getByRole('button', { name: 'Show this computer' }).click();
    await card.getByText(/LiteRT/).first().waitFor();
    await screenshot(page, 'export-devices');
  });
});
