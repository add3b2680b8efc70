/**
 * "Find the best model" in Chromium against the real backend: the wizard checks a spec with the
 * backend (errors name the field; a valid spec shows its rungs), and the run view of a finished
 * search (seeded in the real store) shows the recommendation, the candidates with why each was
 * dropped, and the latency model's error; a search with no candidate in budget says so.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SearchCandidate, SearchResult } from '../../src-shared/search';
import { Store } from '../../src-main/store';
import { type Backend, launchBrowser, screenshot, startBackend } from './harness';

let backend: Backend;
let browser: Browser;
let page: Page;
const runIds = { found: 0, none: 0 };

const arch = { template: 'lenet', width: 0.5, resolution: 28 };
const cand = (id: string, over: Partial<SearchCandidate>): SearchCandidate => ({ id, arch, sparsity: 0, precision: 'int8', rung: 1, epochs: 8, status: 'meets-budget', measured: true, ...over });

function result(recommended: boolean): SearchResult {
  const candidates: SearchCandidate[] = [
    cand('lenet w0.5 r28 s0 int8', { status: recommended ? 'recommended' : 'dropped', valAccuracy: 0.905, fidelity: 0.97, latencyMs: 0.061, latencyCiMs: [0.059, 0.064], predictedLatencyMs: 0.058, bytes: 61_000, ...(recommended ? {} : { droppedBecause: 'accuracy', reason: 'misses the budget: accuracy 0.80 points below the teacher (budget 0.5)' }) }),
    cand('lenet w0.5 r28 s0 fp16', { valAccuracy: 0.91, latencyMs: 0.12, predictedLatencyMs: 0.13, bytes: 118_000 }),
    { id: 'lenet w0.25 r20', arch: { template: 'lenet', width: 0.25, resolution: 20 }, sparsity: null, precision: null, rung: 0, epochs: 1, status: 'dropped', droppedBecause: 'halving', reason: 'dropped after rung 1 (1 epochs): lenet w0.5 r28 was at least as accurate', valAccuracy: 0.8 },
  ];
  return {
    target: 'host',
    budget: { maxAccuracyDrop: recommended ? 1 : 0.5 },
    teacher: { artifactId: 1, tfliteArtifactId: 2, valAccuracy: 0.913, testAccuracy: 0.909, latencyMs: 0.285, latencyCiMs: [0.28, 0.29], bytes: 902_960 },
    candidates,
    frontier: { latency: ['lenet w0.5 r28 s0 int8', 'lenet w0.5 r28 s0 fp16'], size: ['lenet w0.5 r28 s0 int8', 'lenet w0.5 r28 s0 fp16'] },
    recommended: recommended
      ? { id: 'lenet w0.5 r28 s0 int8', testAccuracy: 0.902, testDrop: 0.7, valDrop: 0.8, fidelity: 0.97, latencyMs: 0.061, latencyCiMs: [0.059, 0.064], bytes: 61_000, margins: { accuracy: 0.2 }, speedup: 4.67, paired: { teacherMs: [0.29, 0.28], recommendedMs: [0.062, 0.06] }, sizeRatio: 14.8, tfliteArtifactId: 3, modelArtifactId: 4 }
      : null,
    closest: recommended ? null : { id: 'lenet w0.5 r28 s0 fp16', misses: ['accuracy 0.30 points below the teacher (budget 0.2)'] },
    verdict: recommended ? 'Recommended lenet w0.5 r28 s0 int8.' : 'No candidate meets the budget.',
    latencyModel: { features: ['constant (µs)'], coefficients: [1], measurements: 9, heldOut: { n: 8, medianRelError: 0.083, maxRelError: 0.2 }, skipped: 1 },
    elapsedMs: 60_000,
    work: { trainedEpochs: 30, exports: 17, benchmarks: 12, cachedBenchmarks: 2 },
  };
}

function seed(dataDir: string) {
  const store = new Store(path.join(dataDir, 'history.sqlite'));
  const make = (name: string, r: SearchResult) => {
    const runId = store.runs.create({ name, recipe: {}, recipeHash: name, seed: 1, appVersion: 't', status: 'succeeded', stages: [{ kind: 'train-teacher', params: {} }, { kind: 'search', params: {} }] });
    store.runs.updateStage(runId, 0, { status: 'succeeded', metrics: {}, curves: null });
    store.runs.updateStage(runId, 1, { status: 'succeeded', metrics: { search: r, note: r.verdict }, curves: null });
    return runId;
  };
  runIds.found = make('search found', result(true));
  runIds.none = make('search none', result(false));
  store.close();
}

beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-e2e-search-'));
  seed(dataDir);
  backend = await startBackend({}, dataDir);
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1300, height: 1000 } })).newPage();
  await page.goto(backend.url);
});

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
});

const go = (hash: string) => page.goto(new URL(hash, backend.url.split('#')[0]).href);

describe('Find the best model', () => {
  it('the wizard checks the spec with the backend: errors name the field, a valid spec shows its rungs', async () => {
    await go('#/new');
    await page.getByTestId('search-open').click();
    const form = page.getByTestId('search-form');
    await form.getByLabel('Student widths').fill('0.25, 99');
    await page.getByTestId('search-check').click();
    expect(await page.getByTestId('search-errors').innerText()).toMatch(/space\.widths\.1: must be between 0\.03 and 8/);
    await form.getByLabel('Student widths').fill('0.25, 0.5, 0.75');
    await form.getByLabel('Input sizes').fill('28, 20');
    await page.getByTestId('search-check').click();
    expect(await page.getByTestId('search-plan').innerText()).toMatch(/^6 architectures in 2 rungs \(6 × 1 epochs → 2 × 8 epochs\), then up to 16 finalist variants/);
    await screenshot(page, 'search-wizard');
  });

  it('the run view shows the recommendation, every candidate with why it was dropped, and the latency model', async () => {
    await go(`#/runs/${runIds.found}`);
    await page.getByTestId('search-recommended').waitFor();
    const rec = await page.getByTestId('search-recommended').innerText();
    expect(rec).toContain('lenet w0.5 r28 s0 int8');
    expect(rec).toMatch(/4\.7× faster \(teacher and this file measured alternately at the end: 0\.285 ms vs 0\.061 ms\) and 14\.8× smaller/);
    expect(rec).toMatch(/Test accuracy of the exported file: 90\.20 %/);
    const table = await page.getByTestId('search-candidates').innerText();
    expect(table).toContain('dropped after rung 1');
    expect(table).toContain('halving');
    expect(await page.getByTestId('search-latency-model').innerText()).toMatch(/median error 8\.3 % on 8 candidates/);
    await screenshot(page, 'search-result');
  });

  it('says when no candidate meets the budget, with the closest', async () => {
    await go(`#/runs/${runIds.none}`);
    await page.getByTestId('search-none').waitFor();
    expect(await page.getByTestId('search-none').innerText()).toMatch(/No candidate meets the budget\s+Closest: lenet w0\.5 r28 s0 fp16 — accuracy 0\.30 points/);
  });
});
