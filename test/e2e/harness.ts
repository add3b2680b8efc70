/**
 * End-to-end harness: starts the real backend in browser mode (`out/main/serve.js`) on a free
 * loopback port with a fresh data folder, and Debian's Chromium through playwright-core.
 * No browser is ever downloaded.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

export const root = path.resolve(import.meta.dirname, '../..');
export const screenshotDir = path.join(root, 'test-results', 'screenshots');

export function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim();
    } catch {
      /* next */
    }
  }
  throw new Error('No Chromium found for the end-to-end tests: install it (Debian: apt-get install chromium) or set CHROMIUM_PATH.');
}

export interface Backend {
  url: string;
  port: number;
  dataDir: string;
  proc: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

export async function startBackend(env: Record<string, string> = {}, dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-e2e-'))): Promise<Backend> {
  const serveJs = path.join(root, 'out/main/serve.js');
  if (!fs.existsSync(serveJs)) throw new Error('Build first: npm run build');
  const proc = spawn(process.execPath, [serveJs, '--port', '0', '--data', dataDir], {
    // Tests never start the machine's ADB server on 5037; device tests bring their own on a private port.
    env: { ...process.env, POCKETBENCH_ADB_AUTOSTART: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (c) => (out += c));
  proc.stderr!.on('data', (c) => (out += c));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`serve did not print its URL in 30 s:\n${out}`)), 30_000);
    const check = () => {
      const m = /Open: (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out}`)));
  });
  return {
    url,
    port: Number(new URL(url).port),
    dataDir,
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
    },
  };
}

/** Runs a preset with the CLI into `dataDir`, as a user would from a terminal; returns the finished run. */
export function runPresetWithCli(dataDir: string, preset = 'quick-check'): { id: number; status: string } {
  const out = execFileSync(process.execPath, [path.join(root, 'bin/pocketbench.js'), '--data', dataDir, 'run', `preset:${preset}`, '--json'], {
    encoding: 'utf8',
    env: { ...process.env, POCKETBENCH_ADB_AUTOSTART: '0' },
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(out) as { id: number; status: string };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(screenshotDir, { recursive: true });
  // The app scrolls inside <main>; let the window grow to the content so the whole screen is captured.
  const style = await page.addStyleTag({ content: 'html, body, #app { height: auto !important; } .shell { height: auto !important; min-height: 100vh; } main { overflow: visible !important; }' });
  try {
    await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
  } finally {
    await style.evaluate((el) => el.remove());
  }
}
