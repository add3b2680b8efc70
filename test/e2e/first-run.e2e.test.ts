/**
 * First run in the real UI on a computer without Fashion-MNIST: the wizard's dataset step
 * downloads it (from a paced local mirror of Debian's files) with a progress bar, then previews it;
 * the status bar says which compute backend runs and why.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_FILES } from '../../src-main/data/fashion-mnist-download';
import { type FileServer, startFileServer } from '../helpers/file-server';
import { type Backend, launchBrowser, screenshot, startBackend } from './harness';

const debian = '/usr/share/datasets/fashion-mnist';
const haveFiles = FASHION_MNIST_FILES.every((f) => fs.existsSync(path.join(debian, f.name)));

let backend: Backend;
let browser: Browser;
let page: Page;
let mirror: FileServer;
const fm = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-e2e-fm-'));

beforeAll(async () => {
  if (!haveFiles) return;
  const files: Record<string, Buffer> = {};
  for (const f of FASHION_MNIST_FILES) files[`/fm/${f.name}`] = fs.readFileSync(path.join(debian, f.name));
  mirror = await startFileServer(files);
  mirror.pace(40); // ~6 MB/s: the download takes a few seconds, long enough to be seen
  backend = await startBackend({ POCKETBENCH_FASHION_MNIST_DIR: path.join(fm, 'fashion-mnist'), POCKETBENCH_DATASET_MIRROR: `${mirror.url}/fm` });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
  await mirror?.close();
  fs.rmSync(fm, { recursive: true, force: true });
});

describe.runIf(haveFiles)('first run without the dataset', () => {
  it('the wizard downloads Fashion-MNIST with a progress bar, then previews it', async () => {
    await page.goto(backend.url);
    await page.goto(new URL('#/new', backend.url.split('#')[0]).href);
    const dl = page.getByTestId('dataset-download');
    await dl.waitFor({ timeout: 30_000 });
    expect(await dl.textContent()).toMatch(/First use: Downloading Fashion-MNIST: .* of 29\.\d MiB \(file \d of 4/);
    const bar = dl.locator('progress');
    expect(Number(await bar.getAttribute('max'))).toBeGreaterThan(30_000_000);
    await screenshot(page, 'first-run-dataset-download');
    const preview = page.getByTestId('dataset-preview');
    await preview.getByText('10 classes').waitFor({ timeout: 60_000 });
    expect(await preview.textContent()).toContain('70.0k samples');
    expect(await dl.count()).toBe(0);
    expect(fs.readdirSync(path.join(fm, 'fashion-mnist')).sort()).toEqual(FASHION_MNIST_FILES.map((f) => f.name).sort());
  }, 90_000);

  it('the status bar says which compute backend runs and why', async () => {
    const why = page.getByTestId('status-backend-reason');
    await why.waitFor({ timeout: 30_000 });
    expect(await why.textContent()).toMatch(/^wasm(\+native)?: tfjs-node (is not installed|failed to load)/);
  });
});
