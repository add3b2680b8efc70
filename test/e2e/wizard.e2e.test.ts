/**
 * The run wizard in Chromium against the real backend: presets, inline field errors and warnings,
 * saving/exporting recipes, and starting a run that opens the live run view.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, launchBrowser, screenshot, startBackend } from './harness';

let backend: Backend;
let browser: Browser;
let page: Page;
const base = () => backend.url.split('#')[0];

beforeAll(async () => {
  backend = await startBackend();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(backend.url);
  await page.goto(new URL('#/new', base()).href);
});

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
});

describe('new run wizard', () => {
  it('loads a preset and walks through the steps', async () => {
    await page.getByTestId('preset-select').selectOption('demo');
    await page.getByRole('tab', { name: '4. Stages' }).click();
    for (const kind of ['distill', 'quantize', 'export', 'profile']) {
      expect(await page.getByTestId(`stage-card-${kind}`).locator('input[type=checkbox]').first().isChecked()).toBe(true);
    }
    await screenshot(page, 'wizard-stages');
  });

  it('shows an inline error that names the allowed range, and blocks the run', async () => {
    const temps = page.locator('#distill-temperatures');
    await temps.fill('4, 400');
    await temps.blur();
    await page.getByText('must be between 0.5 and 100').first().waitFor();
    expect(await page.getByTestId('error-count').textContent()).toContain('1 problem');
    await page.getByRole('tab', { name: '5. Review' }).click();
    expect(await page.getByTestId('start-run').isDisabled()).toBe(true);
    await page.getByRole('tab', { name: '4. Stages' }).click();
    await temps.fill('0.5, 4');
    await temps.blur();
    await page.getByText("sharpens the teacher's outputs").first().waitFor(); // a warning, not an error
    expect(await page.getByTestId('error-count').count()).toBe(0);
  });

  it('warns when INT8 has too few calibration samples and refuses none', async () => {
    const cal = page.locator('#quantize-calibrationSamples');
    await cal.fill('0');
    await cal.blur();
    await page.getByText('needs calibration data').first().waitFor();
    await cal.fill('50');
    await cal.blur();
    await page.getByText('may miss the real range').first().waitFor();
    await cal.fill('256');
    await cal.blur();
  });

  it('starts the run and opens its live view', async () => {
    await page.getByRole('tab', { name: '5. Review' }).click();
    await screenshot(page, 'wizard-review');
    await page.getByTestId('start-run').click();
    await page.waitForURL(/#\/runs\/\d+$/);
    await page.getByTestId('run-status').waitFor();
    await page.getByTestId('stage-0').waitFor();
    await screenshot(page, 'run-view');
  });
});
