/**
 * What a user gets out of a finished run (issue 17), in Chromium against the real backend: the
 * result first with human labels, raw keys only in details, and no serious accessibility problem.
 * The history is seeded by the CLI running the one-minute preset, as a user would from a terminal.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unzipSync } from 'fflate';
import { readTflite } from '../../src-main/export/tflite/read';
import { readModelArtifacts } from '../../src-main/models/io';
import { Store } from '../../src-main/store';
import { seriousA11yViolations } from './axe';
import { type Backend, launchBrowser, runPresetWithCli, screenshot, startBackend } from './harness';

let backend: Backend;
let browser: Browser;
let page: Page;
let runId = 0;
const pageErrors: string[] = [];
const go = (hash: string) => page.goto(new URL(hash, backend.url.split('#')[0]).href);

beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-results-'));
  const run = runPresetWithCli(dataDir);
  expect(run.status).toBe('succeeded');
  runId = run.id;
  seedOpProfiles(dataDir);
  backend = await startBackend({}, dataDir);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(backend.url);
}, 300_000);

/**
 * Two op-profiled benchmarks of the run's .tflite on a phone, as the device lab stores them from
 * benchmark_model's profile (run order and by type): one on the CPU kernels, one with XNNPack taking
 * the convolutions. This computer's LiteRT runner has no op profiler, so the rows are written here.
 */
function seedOpProfiles(dataDir: string) {
  const store = new Store(path.join(dataDir, 'history.sqlite'));
  const art = store.artifacts.list({ limit: 50, offset: 0 }).items.find((a) => a.format === 'tflite')!;
  const ops = readTflite(new Uint8Array(fs.readFileSync(art.path))).operators.map((o) => o.op);
  const phone = store.devices.upsert('PIXEL7', 'android', { manufacturer: 'Google', model: 'Pixel 7', abis: ['arm64-v8a'] });
  const profile = (xnn: boolean) => {
    const rows: { section: 'run_order' | 'by_type'; nodeType: string; avgMs: number }[] = [];
    const conv = ops.filter((o) => o === 'CONV_2D').length;
    if (xnn) rows.push({ section: 'run_order', nodeType: 'TfLiteXNNPackDelegate', avgMs: 0.05 * conv });
    ops.forEach((o, i) => {
      if (!(xnn && o === 'CONV_2D')) rows.push({ section: 'run_order', nodeType: o, avgMs: o === 'CONV_2D' ? 0.3 + 0.1 * i : 0.01 * (i + 1) });
    });
    const byType = new Map<string, number>();
    for (const r of rows) byType.set(r.nodeType, (byType.get(r.nodeType) ?? 0) + r.avgMs);
    for (const [t, ms] of byType) rows.push({ section: 'by_type', nodeType: t, avgMs: ms });
    return rows;
  };
  for (const xnn of [false, true]) {
    const b = store.benchmarks.create({ artifactId: art.id, deviceId: phone, config: { threads: 4, xnnpack: xnn, opProfiling: true } });
    store.benchmarks.finish(b, { status: 'succeeded', latencyUs: xnn ? 400 : 900, ciLowUs: xnn ? 380 : 870, ciHighUs: xnn ? 420 : 930, cv: 0.02 }, [], profile(xnn));
  }
  store.close();
}

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
});

describe('result first', () => {
  it('opens a finished run on its result: .tflite accuracy, size and latency against the teacher, and a verdict', async () => {
    await go(`#/runs/${runId}`);
    const card = page.getByTestId('run-summary');
    await card.waitFor();
    expect(await page.getByTestId('summary-accuracy').textContent()).toMatch(/Accuracy of the \.tflite\s*[\d.]+ %\s*[−+±][\d.]+ points vs the teacher/);
    expect(await page.getByTestId('summary-size').textContent()).toMatch(/\.tflite file size \(INT8\)\s*[\d.]+ KiB\s*[\d.]+× smaller than the teacher/);
    expect(await page.getByTestId('summary-latency').textContent()).toMatch(/Latency on this computer\s*[\d.]+ ms\s*[\d.]+ % interval/);
    expect(await page.getByTestId('summary-verdict').textContent()).toMatch(/^The INT8 \.tflite is [\d.]+× smaller than the teacher/);
    // The card is the first thing on the page, above the stages.
    const cardTop = (await card.boundingBox())!.y;
    expect(cardTop).toBeLessThan((await page.getByTestId('stage-0').boundingBox())!.y);
    expect(cardTop).toBeLessThan(900);
    await screenshot(page, 'results-summary');
  });

  it('keeps raw keys in a details view, beside their human label and unit', async () => {
    const stage = page.getByTestId('stage-0');
    const details = page.getByTestId('stage-details-0');
    // Raw keys are not on screen until the details are opened.
    expect(await stage.getByText('resumedFromEpoch', { exact: true }).isVisible()).toBe(false);
    await details.locator('summary').click();
    const text = (await details.textContent()) ?? '';
    expect(text).toMatch(/Calibration error \(ECE\)[\d.]+ %ece/);
    expect(text).toContain('Resumed from epoch');
    expect(await stage.getByText('resumedFromEpoch', { exact: true }).isVisible()).toBe(true);
  });

  it('downloads the shipped .tflite over the authenticated connection, shows its full path, and downloads the report', async () => {
    const card = page.getByTestId('run-summary');
    const pathText = (await card.locator('[data-testid^="artifact-path-"]').textContent())!.trim();
    expect(path.isAbsolute(pathText)).toBe(true);
    expect(pathText.startsWith(backend.dataDir)).toBe(true);
    const [dl] = await Promise.all([page.waitForEvent('download'), card.getByRole('button', { name: 'Download .tflite' }).click()]);
    expect(dl.suggestedFilename()).toMatch(/^INT8_minmax_int8-\d+\.tflite$/);
    const saved = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pb-dl-')), dl.suggestedFilename());
    await dl.saveAs(saved);
    const bytes = fs.readFileSync(saved);
    expect(bytes.equals(fs.readFileSync(pathText))).toBe(true);
    expect(bytes.subarray(4, 8).toString()).toBe('TFL3'); // the FlatBuffer identifier of a .tflite
    const [report] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download report (HTML)' }).click()]);
    const reportPath = path.join(path.dirname(saved), report.suggestedFilename());
    await report.saveAs(reportPath);
    expect(fs.readFileSync(reportPath, 'utf8')).toMatch(/<h2>Result<\/h2>.*Accuracy of the \.tflite/s);
    // Every .tflite of the run has its own download button.
    expect(await page.locator('[data-testid^="stage-"] [data-testid^="download-"]').count()).toBeGreaterThanOrEqual(1);
  });

  it('downloads a TF.js model folder as one .zip holding model.json and its weights, which loads as the model', async () => {
    const button = page.locator('[data-testid^="stage-"]').getByRole('button', { name: 'Download model (.zip)' }).first();
    const id = (await button.getAttribute('data-testid'))!.replace('download-', '');
    const folder = (await page.getByTestId(`artifact-path-${id}`).first().textContent())!.trim();
    expect(folder.startsWith(backend.dataDir)).toBe(true);
    const [dl] = await Promise.all([page.waitForEvent('download'), button.click()]);
    expect(dl.suggestedFilename()).toMatch(new RegExp(`-${id}\\.zip$`));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-dl-zip-'));
    await dl.saveAs(path.join(dir, dl.suggestedFilename()));
    const entries = unzipSync(fs.readFileSync(path.join(dir, dl.suggestedFilename())));
    const top = dl.suggestedFilename().replace(/\.zip$/, '');
    // Exactly the model's files, byte for byte, in one folder.
    expect(Object.keys(entries).sort()).toEqual(fs.readdirSync(folder).map((f) => `${top}/${f}`).sort());
    for (const [name, bytes] of Object.entries(entries)) {
      expect(Buffer.from(bytes).equals(fs.readFileSync(path.join(folder, name.slice(top.length + 1))))).toBe(true);
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), bytes);
    }
    // The unpacked folder is a TF.js Layers model whose weight files match its manifest.
    expect(readModelArtifacts(path.join(dir, top)).bytes).toBeGreaterThan(1000);
  });

  it('starts a benchmark from the artifact picker, linked to the artifact', async () => {
    await go('#/devices');
    const picker = page.getByTestId('bench-artifact');
    await picker.locator('option', { hasText: 'int8.tflite' }).first().waitFor({ state: 'attached' });
    const value = await picker.locator('option', { hasText: 'int8.tflite' }).first().getAttribute('value');
    await picker.selectOption(value!);
    await page.getByText('Results are linked to this artifact and appear in Compare').waitFor();
    const form = page.getByRole('form', { name: 'New benchmark' });
    await form.locator('label', { hasText: 'This computer' }).locator('input[type=checkbox]').check();
    await form.getByRole('spinbutton', { name: 'Trials' }).fill('2');
    await form.getByRole('spinbutton', { name: 'Runs per trial' }).fill('10');
    await screenshot(page, 'results-bench-picker');
    await form.getByRole('button', { name: 'Benchmark' }).click();
    const row = page.getByTestId('recent-benchmarks').locator('tbody tr').filter({ hasText: `#${value}` }).first();
    await expect.poll(() => row.textContent().catch(() => ''), { timeout: 120_000, interval: 1000 }).toMatch(/succeeded|failed/);
    expect(await row.textContent()).toContain('succeeded');
  }, 150_000);

  it('compares by dataset with distinguishing names, sortable columns that fit the pane, and a note per point a chart cannot show', async () => {
    await go('#/compare');
    const group = page.getByTestId('compare-group').first();
    await group.locator('tbody tr').first().waitFor();
    expect(await group.locator('h2').textContent()).toMatch(/^Fashion-MNIST.* · image classification, 10 classes$/);
    const names = await group.locator('tbody td.name').allTextContents();
    // One name per artifact, different for every artifact (a row per benchmark repeats its artifact's name).
    const ids = names.map((n) => /\(#(\d+)\)$/.exec(n.trim())?.[1]);
    expect(new Set(names).size).toBe(new Set(ids).size);
    expect(names.some((n) => /Quick check #\d+ · INT8 \(minmax\) · \.tflite INT8 · from #\d+ \(#\d+\)/.test(n))).toBe(true);
    // Sort by latency, fastest first: the benchmarked .tflite leads.
    await group.getByTestId('sort-latency').click();
    expect(await group.locator('th[aria-sort="ascending"]').textContent()).toContain('Latency');
    expect(await group.locator('tbody tr').first().textContent()).toMatch(/[\d.]+ ms/);
    await screenshot(page, 'results-compare');
    // The key columns are visible without scrolling: the table is no wider than its pane.
    const widths = await group.locator('table').evaluate((t) => [t.scrollWidth, (t.parentElement as { clientWidth: number }).clientWidth]);
    expect(widths[0]).toBeLessThanOrEqual(widths[1]);
    // Rows that cannot be placed on the latency chart are named, with the reason.
    expect((await group.getByTestId('chart-note').allTextContents()).join(' ')).toMatch(/teacher.*not shown, it has not been benchmarked/);
    expect(await seriousA11yViolations(page)).toEqual([]);
  });

  it('shows the .tflite as a graph coloured by per-operator latency and placement, and diffs two op profiles', async () => {
    await go(`#/runs/${runId}`);
    const open = page.locator('[data-testid^="stage-"] [data-testid^="graph-open-"]').last();
    await open.click();
    const view = page.locator('[data-testid^="model-graph-"]').first();
    await view.locator('[data-testid="graph-node"]').first().waitFor();
    const ops = await view.locator('[data-testid="graph-node"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-op')));
    expect(ops).toContain('CONV_2D');
    expect(ops[0]).toBe('Input');
    // The CPU profile: every operator gets its own time.
    const pick = view.getByTestId('graph-bench');
    const optionFor = async (ms: string) => (await pick.locator('option', { hasText: ` · ${ms} ms · ` }).first().getAttribute('value'))!;
    const cpuBench = await optionFor('0.9');
    const xnnBench = await optionFor('0.4');
    await pick.selectOption(cpuBench);
    await expect.poll(() => view.locator('[data-testid="graph-node"][data-op="CONV_2D"]').first().getAttribute('data-ms')).toMatch(/^0\.\d+/);
    expect(await view.locator('[data-testid="graph-node"][data-ran="CPU"]').count()).toBe(ops.filter((o) => o !== 'Input' && o !== 'Output').length);
    await screenshot(page, 'results-graph-latency');
    // The XNNPack profile: convolutions ran inside the delegate.
    await pick.selectOption(xnnBench);
    await expect.poll(() => view.locator('[data-testid="graph-node"][data-op="CONV_2D"]').first().getAttribute('data-ran')).toBe('XNNPack');
    // Diff of the two op profiles.
    await view.getByTestId('graph-diff-bench').selectOption(cpuBench);
    const diff = view.getByTestId('graph-op-diff');
    await diff.waitFor();
    expect(await diff.textContent()).toMatch(/TfLiteXNNPackDelegate.*only in the first/s);
    await screenshot(page, 'results-graph-diff');
  });

  it('has no serious or critical accessibility violations on the run view', async () => {
    await go(`#/runs/${runId}`);
    await page.getByTestId('run-summary').waitFor();
    expect(await seriousA11yViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
