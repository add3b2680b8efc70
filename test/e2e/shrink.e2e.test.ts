/**
 * "Shrink my Teachable Machine model" in Chromium against the real backend: a real Teachable Machine
 * Keras export (../shared/real-models/tm-keras-rps) and a folder of pictures without labels (made by
 * the test), through the preset form, to the run page showing the original's FP32 .tflite and the
 * distilled INT8 student side by side (test-results/screenshots/shrink-*.png).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticPhotos } from '../fixtures/synthetic-photos';
import { type Backend, launchBrowser, root, screenshot, startBackend } from './harness';

const model = path.resolve(root, '../../shared/real-models/tm-keras-rps');
const altModel = '/work/shared/real-models/tm-keras-rps';
const modelDir = fs.existsSync(model) ? model : altModel;
const haveModel = fs.existsSync(path.join(modelDir, 'keras_model.h5'));
if (!haveModel) console.log(`shrink e2e SKIPPED: the Teachable Machine export ${modelDir} is not on this machine.`);

let backend: Backend;
let browser: Browser;
let page: Page;
let photos: string;

beforeAll(async () => {
  if (!haveModel) return;
  photos = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-photos-'));
  await writeSyntheticPhotos(photos, 80, 224, 11);
  backend = await startBackend();
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
  await page.goto(backend.url);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
  if (photos) fs.rmSync(photos, { recursive: true, force: true });
});

describe.runIf(haveModel)('shrinking a Teachable Machine model', () => {
  it('reads the export, distills a student on unlabelled pictures and shows both side by side', async () => {
    await page.goto(new URL('#/new', backend.url.split('#')[0]).href);
    await page.getByTestId('shrink-preset').locator('summary').click();
    await page.locator('#shrink-model-path').fill(modelDir);
    await page.getByTestId('shrink-import').click();
    const teacher = page.getByTestId('shrink-teacher');
    await teacher.waitFor({ timeout: 60_000 });
    expect(await teacher.textContent()).toMatch(/keras-h5 · 224×224×3 input.*Rock, Paper, Scissors, Nothing/);
    await page.locator('#shrink-folder').fill(photos);
    await page.getByTestId('shrink-labelled').uncheck();
    await page.getByTestId('shrink-student').selectOption({ index: 0 });
    expect(await page.getByTestId('shrink-student').locator('option').allTextContents()).toEqual([
      'Smallest: MobileNet ×0.25 at 96 px',
      'Balanced: MobileNet ×0.35 at 128 px',
      'Closest to the teacher: MobileNet ×0.5 at 160 px',
      'Teacher’s resolution: MobileNet ×0.5 at 224 px',
    ]);
    await screenshot(page, 'shrink-form');
    await page.getByTestId('shrink-start').click();
    await page.waitForURL(/#\/runs\/\d+$/);
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 900_000, interval: 2000 }).toMatch(/succeeded|failed/);
    const log = (await page.getByTestId('run-log').textContent().catch(() => '')) ?? '';
    expect(await page.getByTestId('run-status').textContent(), `the run failed:\n${log}\n${backend.output().slice(-3000)}`).toBe('succeeded');
    const results = page.getByTestId('shrink-results');
    await results.waitFor();
    // Real figures in every row: sizes with a ratio, the student's fidelity (no labels: no accuracy row), latency on this computer.
    expect(await page.getByTestId('shrink-bytes').textContent()).toMatch(/File size.*[\d.]+ [KMG]?i?B.*[\d.]+ [KMG]?i?B.*[\d.]+× smaller/);
    expect(await page.getByTestId('shrink-accuracy').count()).toBe(0);
    expect(await page.getByTestId('shrink-fidelity').textContent()).toMatch(/100 % \(reference\)\s*[\d.]+ %/);
    expect(await page.getByTestId('shrink-latency-host').textContent()).toMatch(/this computer\s*[\d.]+ ms\s*[\d.]+ ms\s*[\d.]+× faster/);
    await screenshot(page, 'shrink-results');
  }, 1_000_000);

  it('in the wizard, suggests students sized for the imported teacher and sizes the dataset for both', async () => {
    await page.goto(new URL('#/new', backend.url.split('#')[0]).href);
    await page.getByRole('radio', { name: 'Image folder' }).check();
    await page.locator('#ds-path').fill(photos);
    await page.getByTestId('ds-unlabeled').check();
    await page.getByRole('tab', { name: '2. Teacher' }).click();
    await page.getByRole('radio', { name: /A model from an earlier run/ }).check();
    await page.getByTestId('teacher-artifact').selectOption({ label: (await page.getByTestId('teacher-artifact').locator('option').allTextContents()).find((t) => t.includes('imported'))! });
    await page.getByRole('tab', { name: '3. Student' }).click();
    const box = page.getByTestId('student-suggestions');
    await box.waitFor();
    expect(await box.textContent()).toMatch(/224×224×3 images/);
    await page.getByTestId('suggest-0.5-160').click();
    expect(await page.getByTestId('suggest-0.5-160').getAttribute('aria-pressed')).toBe('true');
    await screenshot(page, 'shrink-wizard-student');
    await page.getByRole('tab', { name: '5. Review' }).click();
    const json = JSON.parse((await page.getByTestId('recipe-normalized').textContent({ timeout: 30_000 }))!);
    expect(json.dataset).toMatchObject({ kind: 'image-folder', unlabeled: true, decodeSize: [224, 224], imageSize: [160, 160], normalization: { mean: [127.5], std: [127.5] } });
    expect(json.stages.find((s: { kind: string }) => s.kind === 'distill').student).toMatchObject({ template: 'mobilenet', width: 0.5 });
  }, 120_000);
});
