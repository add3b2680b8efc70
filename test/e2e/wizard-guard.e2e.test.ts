/**
 * The wizard cannot wedge (issue 17): list fields take any typing and explain, Review problems are
 * links in words that focus the field, Next is blocked on errors, defaults are shown, a CSV gets the
 * MLP and the run name follows the data, tiny data is flagged, a bad stored draft is repaired with a
 * notice, the wizard works from the keyboard alone, and axe finds no serious violation.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousA11yViolations } from './axe';
import { type Backend, launchBrowser, screenshot, startBackend } from './harness';

let backend: Backend;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const base = () => backend.url.split('#')[0];
/** The focused element's id or test id, read in the page (this file compiles without the DOM library). */
const focused = (attr: 'id' | 'data-testid') =>
  page.evaluate((a) => (globalThis as unknown as { document: { activeElement: { getAttribute(n: string): string | null } | null } }).document.activeElement?.getAttribute(a) ?? null, attr);

beforeAll(async () => {
  backend = await startBackend();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(backend.url);
  await page.goto(new URL('#/new', base()).href);
});

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
});

describe('a wizard that cannot wedge', () => {
  it('shows defaults of blank fields and keeps any typing in a list field, explained', async () => {
    await page.getByRole('tab', { name: '4. Stages' }).click();
    expect(await page.locator('#distill-batchSize').getAttribute('placeholder')).toBe('64 (default)');
    expect(await page.locator('#distill-optimizer-learningRate').getAttribute('placeholder')).toBe('0.001 (default)');
    const temps = page.locator('#distill-temperatures');
    await temps.fill('abc, xyz');
    await temps.blur();
    await page.getByText('“abc”, “xyz” are not numbers').waitFor();
    expect(await temps.inputValue()).toBe('abc, xyz');
    // The page still works: another tab shows its own content.
    await page.getByRole('tab', { name: '1. Dataset' }).click();
    await page.getByRole('heading', { name: 'Dataset' }).waitFor();
    expect(pageErrors).toEqual([]);
  });

  it('lists Review problems in words, as links that open the field', async () => {
    await page.getByRole('tab', { name: '5. Review' }).click();
    const problems = page.getByTestId('recipe-errors');
    await problems.waitFor();
    expect(await problems.textContent()).not.toContain('stages.');
    await screenshot(page, 'wizard-review-problems');
    await problems.getByRole('button', { name: 'Distill › Temperatures' }).first().click();
    await page.getByRole('heading', { name: 'Stages' }).waitFor();
    expect(await focused('id')).toBe('distill-temperatures');
    // Next is blocked while this step has an error.
    expect(await page.getByTestId('wizard-next').isDisabled()).toBe(true);
    await page.getByTestId('step-blocked').waitFor();
  });

  it('repairs a stored draft that does not validate, with a notice, after a reload', async () => {
    await page.reload();
    await page.getByText('reset to their defaults: Distill › Temperatures').waitFor();
    await page.getByRole('tab', { name: '4. Stages' }).click();
    expect(await page.locator('#distill-temperatures').inputValue()).toBe('');
    expect(await page.locator('#distill-temperatures').getAttribute('placeholder')).toBe('1, 2, 4, 8, 16 (default)');
    expect(await page.getByTestId('wizard-next').isDisabled()).toBe(false);
  });

  it('picks the MLP for a CSV, names the run after the file and flags tiny classes and test split', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-csv-'));
    const csv = path.join(dir, 'sensors.csv');
    const rows = ['a,b,label'];
    for (let i = 0; i < 90; i++) rows.push(`${i % 7},${(i * 3) % 11},${i < 80 ? 'ok' : 'fault'}`);
    fs.writeFileSync(csv, rows.join('\n'));
    await page.getByRole('tab', { name: '1. Dataset' }).click();
    await page.getByLabel('CSV table').check();
    await page.locator('#ds-path').fill(csv);
    await page.locator('#ds-path').blur();
    await page.getByTestId('data-warning').first().waitFor({ timeout: 20_000 });
    const warnings = await page.getByTestId('data-warning').allTextContents();
    expect(warnings.join(' ')).toContain('“fault” (10)');
    expect(warnings.join(' ')).toContain('about 9 examples');
    await screenshot(page, 'wizard-csv-warnings');
    await page.getByRole('tab', { name: '2. Teacher' }).click();
    expect(await page.locator('#teacher-model-template').inputValue()).toBe('mlp');
    await page.getByTestId('csv-template-help').waitFor();
    await page.getByRole('tab', { name: '5. Review' }).click();
    expect(await page.locator('#recipe-name').inputValue()).toBe('sensors');
  });

  it('has no serious or critical accessibility violations on any wizard step', async () => {
    for (const name of ['1. Dataset', '2. Teacher', '3. Student', '4. Stages', '5. Review']) {
      await page.getByRole('tab', { name }).click();
      expect(await seriousA11yViolations(page), name).toEqual([]);
    }
  });

  it('can be used with the keyboard alone', async () => {
    await page.getByRole('tab', { name: '1. Dataset' }).focus();
    await page.keyboard.press('Enter');
    // Tab to Next and press it: the Teacher step opens.
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      if ((await focused('data-testid')) === 'wizard-next') break;
    }
    expect(await focused('data-testid')).toBe('wizard-next');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Teacher' }).waitFor();
    expect(pageErrors).toEqual([]);
  });
});
