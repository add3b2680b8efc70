import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closedPortUrl, type FileServer, startFileServer } from '../../test/helpers/file-server';
import { readFashionMnist } from './fashion-mnist';
import {
  bundleFashionMnist,
  checkFashionMnistFile,
  DEBIAN_FASHION_MNIST_DIR,
  ensureFashionMnist,
  FASHION_MNIST_FILES,
  type FashionMnistProgress,
  fashionMnistSearchDirs,
} from './fashion-mnist-download';

const root = path.resolve(import.meta.dirname, '..', '..');
const debian = FASHION_MNIST_FILES.every((f) => fs.existsSync(path.join(DEBIAN_FASHION_MNIST_DIR, f.name)));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-fmnist-dl-'));
const saved = { ...process.env };
afterEach(() => {
  for (const k of ['POCKETBENCH_FASHION_MNIST_DIR', 'POCKETBENCH_DATASET_MIRROR', 'POCKETBENCH_RESOURCES_DIR']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A machine without the dataset: the files are looked for (and downloaded to) a fresh folder. */
function freshMachine(): string {
  const dir = path.join(tmp, `machine-${++n}`, 'fmnist');
  process.env.POCKETBENCH_FASHION_MNIST_DIR = dir;
  return dir;
}

describe('where Fashion-MNIST is looked for', () => {
  it('only in POCKETBENCH_FASHION_MNIST_DIR when set; otherwise Debian, the bundled copy, then the app data folder', () => {
    process.env.POCKETBENCH_FASHION_MNIST_DIR = '/x/fm';
    expect(fashionMnistSearchDirs('/data')).toEqual(['/x/fm']);
    delete process.env.POCKETBENCH_FASHION_MNIST_DIR;
    process.env.POCKETBENCH_RESOURCES_DIR = '/opt/PocketBench/resources';
    expect(fashionMnistSearchDirs('/data')).toEqual([DEBIAN_FASHION_MNIST_DIR, '/opt/PocketBench/resources/datasets/fashion-mnist', '/data/datasets/fashion-mnist']);
  });

  it.runIf(debian)('npm run package bundles the four verified files, and the packaged app finds them offline', async () => {
    const resources = path.join(tmp, 'resources');
    const bundled = path.join(resources, 'datasets', 'fashion-mnist');
    process.env.POCKETBENCH_DATASET_MIRROR = await closedPortUrl();
    // The script `npm run package` runs, from a machine that has the Debian package.
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'bundle-dataset.ts'), bundled], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, POCKETBENCH_DATA_DIR: path.join(tmp, 'pkg-data') },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const f of FASHION_MNIST_FILES) expect(r.stdout).toContain(`bundled ${f.name} (verified) from ${path.join(DEBIAN_FASHION_MNIST_DIR, f.name)}`);
    expect(fs.readdirSync(bundled).sort()).toEqual(FASHION_MNIST_FILES.map((f) => f.name).sort());
    // electron-builder ships resources/datasets as <resources>/datasets.
    expect(fs.readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')).toMatch(/- from: resources\/datasets\n\s+to: datasets\n/);
    expect(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).toMatch(/"package": "[^"]*tsx scripts\/bundle-dataset\.ts[^"]*electron-builder/);

    // The packaged app on a machine without Debian's package and offline: found in its resources.
    process.env.POCKETBENCH_RESOURCES_DIR = resources;
    const appData = path.join(tmp, 'appdata');
    expect(await ensureFashionMnist(undefined, { dataDir: appData, systemDir: null })).toBe(bundled);
    expect(fs.existsSync(path.join(appData, 'datasets'))).toBe(false);
    // A second bundling finds them already there and verified.
    const again = await bundleFashionMnist(bundled, { systemDir: null });
    expect(Object.values(again)).toEqual(new Array(4).fill('already bundled'));
  }, 60_000);

  it.runIf(debian)('without the dataset anywhere, goes to the app data folder', async () => {
    process.env.POCKETBENCH_DATASET_MIRROR = await closedPortUrl();
    const appData = path.join(tmp, 'appdata-offline');
    const err = await ensureFashionMnist(undefined, { dataDir: appData, systemDir: null }).catch((e) => e);
    expect(err.code).toBe('OFFLINE');
    expect(fs.existsSync(path.join(appData, 'datasets', 'fashion-mnist'))).toBe(true);
  });
});

describe('checking a file against the pinned SHA-256', () => {
  it.runIf(debian)('accepts Debian’s re-compressed files and any faithful re-gzip, refuses changed content', async () => {
    for (const f of FASHION_MNIST_FILES) expect(await checkFashionMnistFile(path.join(DEBIAN_FASHION_MNIST_DIR, f.name), f.name)).toBeNull();
    const labels = zlib.gunzipSync(fs.readFileSync(path.join(DEBIAN_FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz')));
    const regz = path.join(tmp, 'regz.gz');
    fs.writeFileSync(regz, zlib.gzipSync(labels, { level: 1 }));
    expect(await checkFashionMnistFile(regz, 't10k-labels-idx1-ubyte.gz')).toBeNull();
    labels[100] = (labels[100] + 1) % 10;
    fs.writeFileSync(regz, zlib.gzipSync(labels));
    expect(await checkFashionMnistFile(regz, 't10k-labels-idx1-ubyte.gz')).toMatch(/^its content has SHA-256 [0-9a-f]{16}… \(10008 bytes\), expected 0402a96d92fd2663… \(10008 bytes\)$/);
    fs.writeFileSync(regz, 'not gzip');
    expect(await checkFashionMnistFile(regz, 't10k-labels-idx1-ubyte.gz')).toMatch(/not a valid gzip file/);
    // A right file under the wrong name is refused too.
    expect(await checkFashionMnistFile(path.join(DEBIAN_FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz'), 'train-labels-idx1-ubyte.gz')).toMatch(/expected bad3541b/);
  });
});

describe.runIf(debian)('the pinned official .gz SHA-256', () => {
  it('is what Debian’s deflate streams give with Zalando’s gzip header put back (whose MD5s the official README lists)', async () => {
    const officialMd5: Record<string, [string, number]> = {
      'train-images-idx3-ubyte.gz': ['8d4fb7e6c68d591d4c3dfef9ec88bf0d', 1504176606],
      'train-labels-idx1-ubyte.gz': ['25c81989df183df01b3e8a0aad5dffbe', 1504176606],
      't10k-images-idx3-ubyte.gz': ['bef4ecab320f06d8554ea6380940ec79', 1504176627],
      't10k-labels-idx1-ubyte.gz': ['bb300cfdad3c16e7a12a480ee83cd310', 1504176627],
    };
    for (const f of FASHION_MNIST_FILES) {
      const deb = fs.readFileSync(path.join(DEBIAN_FASHION_MNIST_DIR, f.name));
      // gzip header: magic, deflate, FNAME flag, mtime, XFL 0, OS 3 (Unix), the name; then Debian's deflate stream and trailer.
      const head = Buffer.from([0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3]);
      head.writeUInt32LE(officialMd5[f.name][1], 4);
      const official = Buffer.concat([head, Buffer.from(`${f.name.replace(/\.gz$/, '')}\0`), deb.subarray(10)]);
      expect(crypto.createHash('md5').update(official).digest('hex')).toBe(officialMd5[f.name][0]);
      expect(crypto.createHash('sha256').update(official).digest('hex')).toBe(f.gzSha256);
      expect(official.length).toBe(f.gzBytes);
      const file = path.join(tmp, `official-${f.name}`);
      fs.writeFileSync(file, official);
      expect(await checkFashionMnistFile(file, f.name)).toBeNull();
    }
  });
});

describe.runIf(debian)('first use on a machine without the dataset (Debian files served from a local mirror)', () => {
  let server: FileServer;
  const files: Record<string, Buffer> = {};
  beforeAll(async () => {
    for (const f of FASHION_MNIST_FILES) files[`/mirror/${f.name}`] = fs.readFileSync(path.join(DEBIAN_FASHION_MNIST_DIR, f.name));
    server = await startFileServer(files);
  });
  afterAll(() => server?.close());

  const useMirror = () => (process.env.POCKETBENCH_DATASET_MIRROR = `${server.url}/mirror/`);
  const requestsFor = (name: string, from: number) => server.requests.slice(from).filter((r) => r.path === `/mirror/${name}`);

  it('downloads the four files with progress, verifies them and loads the real dataset', async () => {
    const dir = freshMachine();
    useMirror();
    const seen: FashionMnistProgress[] = [];
    expect(await ensureFashionMnist(undefined, { onProgress: (p) => seen.push(p) })).toBe(path.resolve(dir));
    for (const f of FASHION_MNIST_FILES) expect(fs.readFileSync(path.join(dir, f.name)).equals(files[`/mirror/${f.name}`])).toBe(true);
    expect(fs.readdirSync(dir).filter((x) => x.endsWith('.part'))).toEqual([]);
    const downloads = seen.filter((p) => p.phase === 'download');
    for (let i = 1; i < downloads.length; i++) expect(downloads[i].bytes).toBeGreaterThanOrEqual(downloads[i - 1].bytes);
    expect(seen.filter((p) => p.phase === 'verify').map((p) => p.file)).toEqual(FASHION_MNIST_FILES.map((f) => f.name));
    const total = Object.values(files).reduce((a, b) => a + b.length, 0);
    expect(seen.at(-1)).toMatchObject({ phase: 'done', bytes: total, total, files: 4 });
    const raw = readFashionMnist();
    expect([raw.train.n, raw.test.n]).toEqual([60000, 10000]);

    // Found the second time: nothing is requested again.
    const before = server.requests.length;
    expect(await ensureFashionMnist(undefined)).toBe(path.resolve(dir));
    expect(server.requests.length).toBe(before);
  });

  it('continues after a cut connection with a Range request', async () => {
    const dir = freshMachine();
    useMirror();
    const start = server.requests.length;
    server.cutOnce('/mirror/train-images-idx3-ubyte.gz', 5_000_000);
    const resumedSeen: boolean[] = [];
    await ensureFashionMnist(undefined, { onProgress: (p) => p.file === 'train-images-idx3-ubyte.gz' && p.phase === 'download' && resumedSeen.push(p.resumed) });
    const reqs = requestsFor('train-images-idx3-ubyte.gz', start);
    expect(reqs.map((r) => r.status)).toEqual([200, 206]);
    expect(Number(/^bytes=(\d+)-$/.exec(reqs[1].range!)![1])).toBeGreaterThanOrEqual(5_000_000);
    expect(resumedSeen.at(-1)).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'train-images-idx3-ubyte.gz')).equals(files['/mirror/train-images-idx3-ubyte.gz'])).toBe(true);
  });

  it('refuses a corrupted file and downloads it again; gives up with a clear error when it stays corrupted', async () => {
    let dir = freshMachine();
    useMirror();
    let start = server.requests.length;
    server.corrupt('/mirror/t10k-images-idx3-ubyte.gz', 1);
    await ensureFashionMnist(undefined);
    expect(requestsFor('t10k-images-idx3-ubyte.gz', start).map((r) => r.status)).toEqual([200, 200]);
    expect(fs.readFileSync(path.join(dir, 't10k-images-idx3-ubyte.gz')).equals(files['/mirror/t10k-images-idx3-ubyte.gz'])).toBe(true);

    dir = freshMachine();
    start = server.requests.length;
    server.corrupt('/mirror/t10k-labels-idx1-ubyte.gz', 2);
    const err = await ensureFashionMnist(undefined).catch((e) => e);
    expect(err.code).toBe('HASH_MISMATCH');
    expect(err.message).toMatch(/^Fashion-MNIST t10k-labels-idx1-ubyte\.gz from 127\.0\.0\.1:\d+ is not the expected file \(.*SHA-256 [0-9a-f]{16}….*\), twice in a row; it was deleted\./);
    expect(err.message).toMatch(/apt install dataset-fashion-mnist/);
    expect(fs.existsSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'))).toBe(false);
    expect(requestsFor('t10k-labels-idx1-ubyte.gz', start)).toHaveLength(2);
  });

  it('one download per folder: concurrent callers in a process share it, another process waits for the lock', async () => {
    let dir = freshMachine();
    useMirror();
    let start = server.requests.length;
    const a: FashionMnistProgress[] = [];
    const b: FashionMnistProgress[] = [];
    const [da, db] = await Promise.all([ensureFashionMnist(undefined, { onProgress: (p) => a.push(p) }), ensureFashionMnist(undefined, { onProgress: (p) => b.push(p) })]);
    expect(da).toBe(db);
    expect(server.requests.slice(start)).toHaveLength(4);
    expect(a.at(-1)?.phase).toBe('done');
    expect(b.at(-1)?.phase).toBe('done');

    // A live process (a sleeping child) holds the folder's lock: nothing is fetched until it lets go.
    dir = freshMachine();
    fs.mkdirSync(dir, { recursive: true });
    const holder = spawn('sleep', ['30']);
    fs.writeFileSync(path.join(dir, '.download.lock'), String(holder.pid));
    start = server.requests.length;
    const waiting = ensureFashionMnist(undefined);
    await new Promise((r) => setTimeout(r, 700));
    expect(server.requests.length).toBe(start);
    fs.rmSync(path.join(dir, '.download.lock'));
    holder.kill();
    await waiting;
    expect(server.requests.slice(start)).toHaveLength(4);
    expect(fs.existsSync(path.join(dir, '.download.lock'))).toBe(false);

    // A lock left by a process that is gone is taken over at once.
    dir = freshMachine();
    fs.mkdirSync(dir, { recursive: true });
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim();
    fs.writeFileSync(path.join(dir, '.download.lock'), gone);
    await ensureFashionMnist(undefined);
    expect(fs.readdirSync(dir).sort()).toEqual(FASHION_MNIST_FILES.map((f) => f.name).sort());
  }, 30_000);

  it('says clearly when offline, with the manual route, and loses nothing already downloaded', async () => {
    const dir = freshMachine();
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(DEBIAN_FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz'), path.join(dir, 'train-labels-idx1-ubyte.gz'));
    process.env.POCKETBENCH_DATASET_MIRROR = await closedPortUrl();
    const err = await ensureFashionMnist(undefined).catch((e) => e);
    expect(err.code).toBe('OFFLINE');
    expect(err.message).toMatch(/^Cannot download Fashion-MNIST train-images-idx3-ubyte\.gz: this computer cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)\. Check the internet connection and try again\. Without internet: on Debian or Ubuntu run `sudo apt install dataset-fashion-mnist`; otherwise copy the four files/);
    expect(err.message).toMatch(/set POCKETBENCH_FASHION_MNIST_DIR to it\)\.$/);
    expect(fs.readdirSync(dir)).toEqual(['train-labels-idx1-ubyte.gz']);
  }, 20_000);
});
