/**
 * Stumbles a first-time user met (issue 17), in Chromium against the real backend: a Teachable
 * Machine export imported as the teacher of a Fashion-MNIST run is named plainly in the model picker
 * and its class count, which would stop the run at its first stage, is flagged on the Teacher step.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, launchBrowser, root, screenshot, startBackend } from './harness';

const candidates = [path.resolve(root, '../../shared/real-models/tm-tfjs-water'), '/work/shared/real-models/tm-tfjs-water'];
const modelDir = candidates.find((d) => fs.existsSync(path.join(d, 'model.json')));
if (!modelDir) console.log('first-user e2e SKIPPED: the Teachable Machine export tm-tfjs-water is not on this machine.');

let backend: Backend;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!modelDir) return;
  backend = await startBackend();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
  await page.goto(backend.url);
});

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
});

describe.runIf(modelDir)('a Teachable Machine export as the teacher of a Fashion-MNIST run', () => {
  it('names the imported model plainly and flags its 3 classes against the dataset’s 10 before Run', async () => {
    await page.goto(new URL('#/new', backend.url.split('#')[0]).href);
    await page.getByTestId('preset-select').selectOption('demo');
    await page.getByRole('tab', { name: '2. Teacher' }).click();
    // A template teacher sized for the data: no warning.
    await page.getByTestId('teacher-summary').getByText('parameters').first().waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('teacher-class-mismatch').count()).toBe(0);
    await page.getByLabel('Import a model (TF.js, Keras, float .tflite)').check();
    await page.locator('#teacher-path').fill(modelDir!);
    await page.getByTestId('import-button').click();
    const picker = page.getByTestId('teacher-artifact');
    await picker.waitFor({ timeout: 120_000 });
    // No "run #—" for a model that came from no run; parameters formatted and named.
    expect(await picker.locator('option:checked').textContent()).toMatch(/^tm-tfjs-water \(imported\) · 538\.6k parameters$/);
    const warning = page.getByTestId('teacher-class-mismatch');
    await warning.waitFor({ timeout: 60_000 });
    expect(await warning.textContent()).toMatch(/tells 3 classes apart, but the dataset has 10: the run would stop at its first stage/);
    await screenshot(page, 'first-user-teacher-mismatch');
  }, 240_000);
});
