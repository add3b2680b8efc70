/**
 * Where the built-in Fashion-MNIST comes from on any machine, and how it gets there on first use.
 *
 * Looked for, in order: `POCKETBENCH_FASHION_MNIST_DIR` when set (then only there, and downloaded
 * there when missing); otherwise Debian's `dataset-fashion-mnist` folder, the installer's bundled
 * copy (`<resources>/datasets/fashion-mnist`, put there by `npm run package`), and the app data
 * folder's `datasets/fashion-mnist`, where it is downloaded when none of them has it.
 *
 * Downloads come from the official location (Zalando Research's S3 site, linked from
 * github.com/zalandoresearch/fashion-mnist), or from `POCKETBENCH_DATASET_MIRROR` (a base URL),
 * resumable, and each file is checked against pinned SHA-256 values before it is used.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type { DatasetDownloadProgress } from '../../src-shared/engine-types';
import { AppError } from '../../src-shared/errors';
import { downloadVerified, type DownloadProgress } from '../net/download';
import { withFolderLock } from '../net/folder-lock';

export const FASHION_MNIST_OFFICIAL_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com';
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/**
 * The four files and what they must hash to (checked 2026-12-05). A file passes when either matches:
 * - `gzSha256`: the official `.gz` exactly as Zalando publishes it (`gzBytes` long). Published by
 *   many independent projects (Keras-style download tables, torchvision-style dataset scripts); the
 *   repository's README publishes their MD5s (8d4fb7e6…, 25c81989…, bef4ecab…, bb300cfd…). Checked
 *   here from Debian's files: its deflate streams with the official gzip header put back (file
 *   name, mtime 1504176606 / 1504176627, i.e. 2017-08-31) give those exact MD5s and these SHA-256s
 *   (fashion-mnist-download.test.ts rebuilds them). One list found online (batchup, 08dc20ab…) is
 *   wrong for these files and is not used.
 * - `idxSha256`: the decompressed IDX bytes, so a faithful re-compression of the same data also
 *   passes: Debian's `dataset-fashion-mnist` ships one (re-gzipped 2020-06-05 without the name in
 *   the header, so its `.gz` hashes differ). Computed from its files (`zcat FILE | sha256sum`).
 */
export const FASHION_MNIST_FILES = [
  {
    name: 'train-images-idx3-ubyte.gz',
    gzSha256: '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84',
    idxSha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
    gzBytes: 26_421_880,
    idxBytes: 47_040_016,
  },
  {
    name: 'train-labels-idx1-ubyte.gz',
    gzSha256: 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845',
    idxSha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
    gzBytes: 29_515,
    idxBytes: 60_008,
  },
  {
    name: 't10k-images-idx3-ubyte.gz',
    gzSha256: '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073',
    idxSha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
    gzBytes: 4_422_102,
    idxBytes: 7_840_016,
  },
  {
    name: 't10k-labels-idx1-ubyte.gz',
    gzSha256: '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5',
    idxSha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
    gzBytes: 5_148,
    idxBytes: 10_008,
  },
] as const;

/** The official training-set size (the wizard's estimate needs it before any download). */
export const FASHION_MNIST_TRAIN_COUNT = 60_000;

export const FASHION_MNIST_MANUAL_ROUTE =
  'Without internet: on Debian or Ubuntu run `sudo apt install dataset-fashion-mnist`; otherwise copy the four files ' +
  `(${FASHION_MNIST_FILES.map((f) => f.name).join(', ')}, from https://github.com/zalandoresearch/fashion-mnist) into one folder ` +
  'and choose that folder in PocketBench (or set POCKETBENCH_FASHION_MNIST_DIR to it).';

/** The installer's bundled copy, when running from a packaged app (or a folder named by the env). */
export function bundledFashionMnistDir(): string | null {
  const res = process.env.POCKETBENCH_RESOURCES_DIR || (process as { resourcesPath?: string }).resourcesPath;
  return res ? path.join(res, 'datasets', 'fashion-mnist') : null;
}

export function cachedFashionMnistDir(dataDir: string): string {
  return path.join(dataDir, 'datasets', 'fashion-mnist');
}

/** Where the four files are looked for, in order; the last one is where a download goes. */
export function fashionMnistSearchDirs(dataDir?: string, systemDir: string | null = DEBIAN_FASHION_MNIST_DIR): string[] {
  const env = process.env.POCKETBENCH_FASHION_MNIST_DIR;
  if (env) return [path.resolve(env)];
  const dirs = [systemDir, bundledFashionMnistDir(), dataDir ? cachedFashionMnistDir(dataDir) : null];
  return dirs.filter((d): d is string => Boolean(d));
}

export function mirrorBaseUrl(): string {
  return (process.env.POCKETBENCH_DATASET_MIRROR || FASHION_MNIST_OFFICIAL_URL).replace(/\/+$/, '');
}

async function sha256Stream(stream: NodeJS.ReadableStream): Promise<{ hex: string; bytes: number }> {
  const h = crypto.createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    h.update(chunk);
    bytes += chunk.length;
  }
  return { hex: h.digest('hex'), bytes };
}

/** Null when `file` is the pinned file (official .gz, or the same IDX bytes re-gzipped), else why not. */
export async function checkFashionMnistFile(file: string, name: string): Promise<string | null> {
  const pinned = FASHION_MNIST_FILES.find((f) => f.name === name);
  if (!pinned) return `${name} is not one of the Fashion-MNIST files`;
  const gz = await sha256Stream(fs.createReadStream(file));
  if (gz.hex === pinned.gzSha256) return null;
  let idx: { hex: string; bytes: number };
  try {
    const gunzip = zlib.createGunzip();
    [idx] = await Promise.all([sha256Stream(gunzip), pipeline(fs.createReadStream(file), gunzip)]);
  } catch (err) {
    return `it is not a valid gzip file (${(err as Error).message}); SHA-256 ${gz.hex.slice(0, 16)}…, expected ${pinned.gzSha256.slice(0, 16)}…`;
  }
  if (idx.hex === pinned.idxSha256) return null;
  return `its content has SHA-256 ${idx.hex.slice(0, 16)}… (${idx.bytes} bytes), expected ${pinned.idxSha256.slice(0, 16)}… (${pinned.idxBytes} bytes)`;
}

/** Names a file may have: the official one, gzipped or not, and the `train-images.idx3-ubyte` spelling of some mirrors. */
export function fashionMnistFileNames(base: string): string[] {
  const dotted = base.replace(/-(idx\d)/, '.$1');
  return [base, `${base}.gz`, dotted, `${dotted}.gz`];
}

/** True when `dir` holds all four files under a name `findFashionMnistFiles` accepts. */
export function hasFashionMnist(dir: string): boolean {
  return FASHION_MNIST_FILES.every((f) => fashionMnistFileNames(f.name.replace(/\.gz$/, '')).some((n) => fs.existsSync(path.join(dir, n))));
}

export type FashionMnistProgress = DatasetDownloadProgress;

export interface EnsureOptions {
  /** The app data folder (downloads go to its datasets/fashion-mnist). */
  dataDir?: string;
  onProgress?: (p: FashionMnistProgress) => void;
  signal?: AbortSignal;
  /** The system package's folder (tests pass null to stand for a machine without it). */
  systemDir?: string | null;
}

/**
 * The folder holding the four files: an explicit `dir` as is (the user chose it), else the first
 * search folder that has them, else a fresh verified download into the last search folder.
 */
export async function ensureFashionMnist(dir: string | undefined, opts: EnsureOptions = {}): Promise<string> {
  if (dir) return path.resolve(dir);
  const dirs = fashionMnistSearchDirs(opts.dataDir, opts.systemDir);
  const found = dirs.find(hasFashionMnist);
  if (found) return found;
  const target = dirs.at(-1);
  if (!target || (!process.env.POCKETBENCH_FASHION_MNIST_DIR && !opts.dataDir)) {
    throw new AppError('NOT_FOUND', `Fashion-MNIST was not found (looked in ${dirs.join(', ')}). ${FASHION_MNIST_MANUAL_ROUTE}`, { dirs });
  }
  await downloadFashionMnist(target, opts);
  return target;
}

const inflight = new Map<string, { done: Promise<void>; listeners: Set<(p: FashionMnistProgress) => void> }>();

/**
 * Download (or finish downloading) the files missing from `dir`, verifying each. Callers in one
 * process share one download (each gets its progress); other processes wait for the folder's lock
 * and then find the files there.
 */
export function downloadFashionMnist(dir: string, opts: EnsureOptions = {}): Promise<void> {
  const key = path.resolve(dir);
  const running = inflight.get(key);
  if (running) {
    if (opts.onProgress) running.listeners.add(opts.onProgress);
    return running.done;
  }
  const listeners = new Set<(p: FashionMnistProgress) => void>(opts.onProgress ? [opts.onProgress] : []);
  const done = (async () => {
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new AppError('IO', `Cannot create ${dir} to download Fashion-MNIST into (${(err as Error).message}). ${FASHION_MNIST_MANUAL_ROUTE}`, { dir });
    }
    await withFolderLock(dir, '.download.lock', () => downloadMissing(dir, opts.signal, (p) => listeners.forEach((l) => l(p))), { signal: opts.signal });
  })().finally(() => inflight.delete(key));
  inflight.set(key, { done, listeners });
  return done;
}

async function downloadMissing(dir: string, signal: AbortSignal | undefined, emit: (p: FashionMnistProgress) => void): Promise<void> {
  // Recomputed under the lock: another process may just have finished some files.
  const todo = FASHION_MNIST_FILES.filter((f) => !fashionMnistFileNames(f.name.replace(/\.gz$/, '')).some((n) => fs.existsSync(path.join(dir, n))));
  const base = mirrorBaseUrl();
  const sizes: number[] = todo.map((f) => f.gzBytes);
  const done = new Array<number>(todo.length).fill(0);
  const report = (index: number, phase: FashionMnistProgress['phase'], resumed = false) => {
    const bytes = done.reduce((a, b) => a + b, 0);
    emit({ file: todo[index]?.name ?? '', index, files: todo.length, bytes, total: sizes.reduce((a, b) => a + b, 0), resumed, phase });
  };
  for (const [i, f] of todo.entries()) {
    await downloadVerified({
      url: `${base}/${f.name}`,
      dest: path.join(dir, f.name),
      label: `Fashion-MNIST ${f.name}`,
      verify: (file) => {
        report(i, 'verify');
        return checkFashionMnistFile(file, f.name);
      },
      manualRoute: FASHION_MNIST_MANUAL_ROUTE,
      signal,
      onProgress: (p: DownloadProgress) => {
        done[i] = p.bytes;
        if (p.total) sizes[i] = p.total;
        report(i, 'download', p.resumed);
      },
    });
  }
  if (todo.length) report(todo.length - 1, 'done');
}

/**
 * `npm run package`: put the four verified `.gz` files in `outDir` (the installers' resources), so
 * a packaged app works offline from its first start. Each is taken from a folder that already has
 * it (checked against the pinned SHA-256) or downloaded like on first use. Returns where each came from.
 */
export async function bundleFashionMnist(outDir: string, opts: EnsureOptions = {}): Promise<Record<string, string>> {
  fs.mkdirSync(outDir, { recursive: true });
  const from: Record<string, string> = {};
  const sources = fashionMnistSearchDirs(opts.dataDir, opts.systemDir).filter((d) => path.resolve(d) !== path.resolve(outDir));
  for (const f of FASHION_MNIST_FILES) {
    const dest = path.join(outDir, f.name);
    if (fs.existsSync(dest) && (await checkFashionMnistFile(dest, f.name)) === null) {
      from[f.name] = 'already bundled';
      continue;
    }
    fs.rmSync(dest, { force: true });
    for (const d of sources) {
      const src = path.join(d, f.name);
      if (fs.existsSync(src) && (await checkFashionMnistFile(src, f.name)) === null) {
        fs.copyFileSync(src, dest);
        from[f.name] = src;
        break;
      }
    }
  }
  if (FASHION_MNIST_FILES.some((f) => !from[f.name])) {
    await downloadFashionMnist(outDir, opts);
    for (const f of FASHION_MNIST_FILES) from[f.name] ??= `${mirrorBaseUrl()}/${f.name}`;
  }
  return from;
}
