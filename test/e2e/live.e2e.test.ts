/**
 * The live run view (issue 17): overall progress across stages stays in view while the run goes,
 * the view follows the running stage, and the finished distill stage draws its loss curves.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousA11yViolations } from './axe';
import { type Backend, launchBrowser, screenshot, startBackend } from './harness';

let backend: Backend;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  backend = await startBackend();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(backend.url);
});

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
});

describe('live run view', () => {
  it('keeps overall progress and the running stage in view, then shows the distill loss', async () => {
    await page.goto(new URL('#/new', backend.url.split('#')[0]).href);
    await page.getByTestId('preset-select').selectOption('quick-check');
    await page.getByRole('tab', { name: '5. Review' }).click();
    await page.getByTestId('start-run').click();
    await page.waitForURL(/#\/runs\/\d+$/);
    const bar = page.getByTestId('overall-progress');
    await bar.waitFor({ timeout: 60_000 });
    expect(await bar.textContent()).toMatch(/Stage \d of 5: .*% of the run/);
    // Wait for a later stage, then check both the bar and the running stage are on screen.
    const barText = async () => ((await bar.count()) ? ((await bar.textContent({ timeout: 1000 }).catch(() => '')) ?? '') : 'finished');
    await expect.poll(barText, { timeout: 120_000, interval: 200 }).toMatch(/Stage [2-5] of 5|finished/);
    const box = await bar.boundingBox({ timeout: 1000 }).catch(() => null);
    if (box) {
      // The bar is on screen (sticky at the top of the scrolled view), and so is the running stage's card.
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.y + box.height).toBeLessThanOrEqual(800);
      // The view scrolls smoothly to a stage that has just started: read the running stage and its
      // card together, until the scroll lands (a single read raced a stage change under load).
      const runningCardY = async () => {
        const n = /Stage (\d)/.exec(await barText())?.[1];
        const card = n ? await page.getByTestId(`stage-${Number(n) - 1}`).boundingBox({ timeout: 1000 }).catch(() => null) : null;
        return card ? card.y : 0;
      };
      await expect.poll(runningCardY, { timeout: 15_000, interval: 250 }).toBeLessThan(800);
      await screenshot(page, 'live-running');
    }
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 300_000, interval: 1000 }).toMatch(/succeeded|failed/);
    expect(await page.getByTestId('run-status').textContent()).toBe('succeeded');
    expect(await bar.count()).toBe(0); // gone once the run is over
    // The distill stage's loss chart has a series per candidate (its legend is drawn from them).
    expect(await page.getByTestId('loss-chart-1').count()).toBe(1);
    await page.getByTestId('stage-1').scrollIntoViewIfNeeded();
    await screenshot(page, 'live-finished');
    expect(await seriousA11yViolations(page)).toEqual([]);
  }, 420_000);
});
