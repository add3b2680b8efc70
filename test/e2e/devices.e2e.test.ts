/**
 * The Devices page in Chromium against the real backend: the runner for an ABI is chosen by path
 * (checked as an ELF for the right architecture, SHA-256 shown), a wrong file is refused with a
 * message, and a stored benchmark opens with its statistics and trials. Phones themselves are
 * covered by test/devices.integration.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../src-main/store';
import { EM_AARCH64, EM_X86_64, fakeElf } from '../helpers/fake-elf';
import { type Peer, type PrivateAdb, startPeer, startPrivateAdb } from '../helpers/private-adb';
import { seriousA11yViolations } from './axe';
import { type Backend, launchBrowser, screenshot, startBackend } from './harness';

let backend: Backend;
let browser: Browser;
let page: Page;
let dataDir: string;
let adb: PrivateAdb;
let peer: Peer;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-e2e-dev-'));
  const store = new Store(path.join(dataDir, 'history.sqlite'));
  const phone = store.devices.upsert('R58M123', 'android', { manufacturer: 'Samsung', model: 'Galaxy S21', sdk: 33, abis: ['arm64-v8a'] });
  const b = store.benchmarks.create({ artifactId: null, deviceId: phone, config: { threads: 4 }, modelSha256: 'f'.repeat(64), target: 'R58M123' });
  store.benchmarks.finish(
    b,
    { status: 'succeeded', latencyUs: 2100, ciLowUs: 2050, ciHighUs: 2200, cv: 0.012, peakMemMb: 12.5, affinity: '4-7', runnerSha256: 'e'.repeat(64), stats: { trials: { n: 5, coverage: 0.9375, note: 'With 5 trials the best available interval (min to max) covers the median with 93.75 %, not 95 %.' } } },
    [2050, 2080, 2100, 2150, 2200].map((m) => ({ count: 50, meanUs: m, stdUs: 30, cooldownMs: 1200, cooldownTimedOut: false, tempBeforeC: 36, tempAfterC: 39 })),
  );
  store.close();
  fs.writeFileSync(path.join(dataDir, 'bm-arm64'), fakeElf(EM_AARCH64));
  fs.writeFileSync(path.join(dataDir, 'bm-x86'), fakeElf(EM_X86_64));
  // A private adb server (never the machine's 5037), and a remote "phone" that asks for approval.
  adb = await startPrivateAdb();
  peer = await startPeer('auth');
  backend = await startBackend({ ANDROID_ADB_SERVER_PORT: String(adb.port) }, dataDir);
  browser = await launchBrowser();
  page = await (await browser.newContext({ viewport: { width: 1400, height: 1100 } })).newPage();
  await page.goto(backend.url);
});

afterAll(async () => {
  await browser?.close();
  await backend?.stop();
  await peer?.close();
  await adb?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('Devices page', () => {
  it('lists a stored phone as not connected, with what to do', async () => {
    await page.goto(new URL('#/devices', backend.url.split('#')[0]).href);
    const row = page.getByTestId('live-devices').locator('tr', { hasText: 'R58M123' });
    await row.waitFor();
    expect(await row.textContent()).toContain('not connected');
    // No phone ready: the step-by-step guide shows, at the first phone step, with the live state.
    await page.getByTestId('phone-guide').waitFor();
    await expect.poll(() => page.locator('[data-testid^="guide-step-"][aria-current="step"]').getAttribute('data-testid'), { timeout: 20_000 }).toBe('guide-step-developer');
    expect(await page.getByTestId('guide-state').textContent()).toContain('sees no phone');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, 'devices-guide');
  });

  it('connects a remote phone by address; it shows live as waiting for approval, with what to do', async () => {
    const form = page.getByRole('form', { name: 'Connect a remote phone' });
    await form.getByRole('textbox').fill('127.0.0.1');
    await form.getByRole('spinbutton').fill(String(peer.port));
    await form.getByRole('button', { name: 'Connect' }).click();
    const row = page.getByTestId('live-devices').locator('tr', { hasText: peer.serial });
    await expect.poll(() => row.textContent(), { timeout: 20_000 }).toMatch(/(unauthorized|waiting for approval)/);
    expect(await row.textContent()).toContain('accept the "Allow USB debugging?" prompt');
    // The guide moves to the authorization step and names the phone.
    await expect.poll(() => page.locator('[data-testid^="guide-step-"][aria-current="step"]').getAttribute('data-testid'), { timeout: 20_000 }).toBe('guide-step-authorize');
    expect(await page.getByTestId('guide-state').textContent()).toContain('not authorized yet');
    await screenshot(page, 'devices-live');
  });

  it('sets the runner for an ABI from a path and refuses a wrong architecture', async () => {
    const runners = page.getByTestId('runners');
    const arm64 = runners.locator('tr', { hasText: 'arm64-v8a' });
    await arm64.getByRole('textbox').fill(path.join(dataDir, 'bm-x86'));
    await arm64.getByRole('button', { name: 'Use file' }).click();
    await page.getByText('built for x86-64, but arm64-v8a phones need aarch64').waitFor();
    await arm64.getByRole('textbox').fill(path.join(dataDir, 'bm-arm64'));
    await arm64.getByRole('button', { name: 'Use file' }).click();
    await expect.poll(() => arm64.textContent()).toContain('aarch64');
    expect(await arm64.textContent()).toMatch(/[0-9a-f]{16}…/);
    await screenshot(page, 'devices-runners');
  });

  it('opens a stored benchmark with its interval, its note and its trials', async () => {
    await page.getByTestId('recent-benchmarks').getByRole('button', { name: 'succeeded' }).click();
    const detail = page.getByTestId('bench-detail');
    await detail.waitFor();
    const text = await detail.textContent();
    expect(text).toContain('Median 2.100 ms');
    expect(text).toContain('2.050–2.200 ms');
    expect(text).toContain('93.75 %');
    expect(text).toContain('4-7');
    expect(await detail.locator('tbody tr').count()).toBe(5);
    await screenshot(page, 'devices-benchmark');
  });
});
