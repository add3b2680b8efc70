/**
 * The runner on the phone: TFLite's `benchmark_model`, one binary per ABI. The user selects the
 * file (Settings → Runners) or the app downloads the official build when online, installed only
 * when its SHA-256 is pinned in runner-pins.ts (`POCKETBENCH_RUNNER_BASE_URL` names a mirror). Either
 * way the file must be an ELF for that ABI's architecture; its SHA-256 is recorded, shown, stored
 * with every benchmark, and checked again before each push. On the phone it is pushed once: the
 * hash there is compared first.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../src-shared/errors';
import { downloadVerified } from '../net/download';
import type { Store } from '../store';
import type { RunnerRecord } from '../store/runners';
import { formatBytes } from '../../src-shared/format';
import type { Adbc } from './adb';
import { RUNNER_PINS, type RunnerPin } from './runner-pins';
import { type HashAlgo, hashNote, localDigest, remoteDigest } from './phone-tools';
import { command, sequence } from './shell-quote';

export const REMOTE_DIR = '/data/local/tmp/pocketbench';
export const REMOTE_RUNNER = `${REMOTE_DIR}/benchmark_model`;

export const ABIS = ['arm64-v8a', 'armeabi-v7a', 'x86_64', 'x86'] as const;
const ABI_MACHINE: Record<string, string> = { 'arm64-v8a': 'aarch64', 'armeabi-v7a': 'arm', armeabi: 'arm', x86_64: 'x86-64', x86: 'x86' };
const MACHINES: Record<number, string> = { 0x03: 'x86', 0x28: 'arm', 0x3e: 'x86-64', 0xb7: 'aarch64' };

/** Official nightly builds (tensorflow.org/lite/performance/measurement). x86 has none. */
const OFFICIAL: Record<string, string> = {
  'arm64-v8a': 'android_aarch64_benchmark_model',
  'armeabi-v7a': 'android_arm_benchmark_model',
};
export function officialRunnerUrl(abi: string): string | null {
  const name = OFFICIAL[abi];
  if (!name) return null;
  const base = process.env.POCKETBENCH_RUNNER_BASE_URL || 'https://storage.googleapis.com/tensorflow-nightly-public/prod/tensorflow/release/lite/tools/nightly/latest';
  return `${base.replace(/\/$/, '')}/${name}`;
}

/** The architecture in an ELF header (`e_machine`), or null when the bytes are not an ELF. */
export function elfMachine(head: Buffer): string | null {
  if (head.length < 20 || head.readUInt32BE(0) !== 0x7f454c46) return null;
  const m = head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
  return MACHINES[m] ?? `machine 0x${m.toString(16)}`;
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = crypto.createHash('sha256');
    fs.createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

function checkElf(file: string, abi: string): string {
  const expected = ABI_MACHINE[abi];
  if (!expected) throw new AppError('INVALID_ARGS', `Unknown ABI "${abi}". Use one of ${ABIS.join(', ')}.`);
  const fd = fs.openSync(file, 'r');
  const head = Buffer.alloc(20);
  fs.readSync(fd, head, 0, 20, 0);
  fs.closeSync(fd);
  const machine = elfMachine(head);
  if (!machine) throw new AppError('RUNNER_NOT_ELF', `${path.basename(file)} is not a program for Android (no ELF header). Pick the benchmark_model binary built for ${abi}.`);
  if (machine !== expected) {
    throw new AppError('RUNNER_WRONG_ARCH', `${path.basename(file)} is built for ${machine}, but ${abi} phones need ${expected}. Pick the benchmark_model built for ${abi}.`);
  }
  return machine;
}

/** Record the runner for an ABI from a local file (after the ELF check). */
export async function setRunnerFile(store: Store, abi: string, file: string, source: RunnerRecord['source'] = 'file'): Promise<RunnerRecord> {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new AppError('NOT_FOUND', `There is no file at ${file}. Pick the benchmark_model binary for ${abi}.`);
  }
  if (!st.isFile()) throw new AppError('INVALID_ARGS', `${file} is not a file. Pick the benchmark_model binary for ${abi}.`);
  const elf = checkElf(file, abi);
  const sha256 = await sha256File(file);
  store.runners.set({ abi, path: file, sha256, bytes: st.size, source, elfMachine: elf });
  return store.runners.get(abi)!;
}

/**
 * Download the official build for an ABI into `dir` (resumable, like the dataset), then record it
 * only when its SHA-256 is one of `pins` (runner-pins.ts). A complete file with another hash is
 * downloaded once more (it may be damaged); when the second copy has the same unknown hash it is a
 * build PocketBench does not know: it is kept aside as `<name>.unverified` and refused with
 * RUNNER_UNPINNED, whose details carry its path for the user to pick it deliberately.
 */
export async function downloadRunner(
  store: Store,
  abi: string,
  dir: string,
  onProgress: (bytes: number, total: number | null) => void,
  signal?: AbortSignal,
  pins: readonly RunnerPin[] = RUNNER_PINS,
): Promise<RunnerRecord> {
  const url = officialRunnerUrl(abi);
  if (!url) throw new AppError('UNSUPPORTED', `There is no official benchmark_model build for ${abi}. Build it from TensorFlow's sources and select the file in Settings → Runners.`);
  fs.mkdirSync(dir, { recursive: true });
  const dest = path.join(dir, `benchmark_model-${abi}`);
  const aside = `${dest}.unverified`;
  const known = pins.filter((p) => p.abi === abi);
  let firstUnknown: string | null = null;
  await downloadVerified({
    url,
    dest,
    label: `benchmark_model for ${abi}`,
    signal,
    manualRoute: 'You can also select a benchmark_model file you already have in Devices → Runners.',
    onProgress: (p) => onProgress(p.bytes, p.total),
    verify: async (file) => {
      try {
        checkElf(file, abi);
      } catch (err) {
        fs.rmSync(file, { force: true });
        throw err;
      }
      const sha = await sha256File(file);
      if (known.some((p) => p.sha256 === sha)) return null;
      if (firstUnknown !== sha) {
        // Fetched again once: a damaged copy differs the second time, an unknown build does not.
        firstUnknown ??= sha;
        return `SHA-256 ${sha.slice(0, 16)}… is not a pinned build for ${abi}`;
      }
      fs.renameSync(file, aside);
      fs.chmodSync(aside, 0o755);
      const versions = known.map((p) => `${p.version} (${p.date})`).join(', ');
      throw new AppError(
        'RUNNER_UNPINNED',
        `The benchmark_model downloaded for ${abi} (SHA-256 ${sha}) is not a build PocketBench knows, so it was not installed. ` +
          (versions ? `Known builds: ${versions}. ` : 'PocketBench has no pinned hash for the official builds yet (they are unversioned nightlies). ') +
          `If you trust it, select it yourself in Devices → Runners: it was kept at ${aside}.`,
        { abi, path: aside, sha256: sha, url },
      );
    },
  });
  fs.chmodSync(dest, 0o755);
  return setRunnerFile(store, abi, dest, 'download');
}

/** The runner to use for a phone: the first of its ABIs (preferred first) that has one. */
export function runnerFor(store: Store, abis: string[], serial: string): RunnerRecord {
  for (const abi of abis) {
    const r = store.runners.get(abi);
    if (r) return r;
  }
  throw new AppError(
    'NO_RUNNER',
    `No benchmark_model for ${serial} (${abis.join(', ') || 'ABI unknown'}). Select the file for ${abis[0] ?? 'its ABI'} in Devices → Runners, or download the official build.`,
    { abis },
  );
}

/** Before each push: the file must still be what the user chose. */
export async function verifyRunner(r: RunnerRecord): Promise<void> {
  let sha: string;
  try {
    sha = await sha256File(r.path);
  } catch {
    throw new AppError('RUNNER_MISSING', `The benchmark_model for ${r.abi} is gone from ${r.path}. Select it again in Devices → Runners.`);
  }
  if (sha !== r.sha256) {
    throw new AppError('RUNNER_CHANGED', `The benchmark_model for ${r.abi} at ${r.path} changed since it was selected (SHA-256 ${sha.slice(0, 12)}…, recorded ${r.sha256.slice(0, 12)}…). Select it again to use the new file.`);
  }
}

/** Free bytes in the folder on the phone (`df -k`), or null when df says nothing we can read. */
export async function remoteFreeBytes(adb: Adbc, serial: string, dir: string): Promise<number | null> {
  const r = await adb.shell(serial, command('df', '-k', dir), { timeoutMs: 15_000 });
  if (r.exitCode !== 0) return null;
  const lines = r.output.trim().split('\n').filter(Boolean);
  const cols = lines[lines.length - 1]?.trim().split(/\s+/) ?? [];
  const avail = Number(cols[3]);
  return Number.isFinite(avail) ? avail * 1024 : null;
}

async function ensureRemoteDir(adb: Adbc, serial: string, dir: string): Promise<void> {
  await adb.run(serial, command('mkdir', '-p', dir), `Creating ${dir}`);
}

/** Push a file unless the phone already has it with the same hash; checks free space first. */
export async function pushIfChanged(
  adb: Adbc,
  serial: string,
  local: string,
  sha256: string,
  remote: string,
  mode: number,
  onProgress?: (bytes: number, total: number) => void,
  signal?: AbortSignal,
): Promise<{ pushed: boolean; hash: HashAlgo; hashNote: string | null }> {
  const same = async () => {
    const d = await remoteDigest(adb, serial, remote);
    return { d, ok: d !== null && d.value === (await localDigest(local, d.algo, sha256)) };
  };
  const before = await same();
  if (before.ok) return { pushed: false, hash: before.d!.algo, hashNote: hashNote(before.d!.algo) };
  const dir = path.posix.dirname(remote);
  await ensureRemoteDir(adb, serial, dir);
  const size = fs.statSync(local).size;
  const free = await remoteFreeBytes(adb, serial, dir);
  if (free !== null && free < size + 1024 * 1024) {
    throw new AppError('DISK_FULL', `The phone ${serial} has ${formatBytes(free)} free in ${dir}, and ${path.basename(local)} needs ${formatBytes(size)}. Free some space on the phone and run again.`);
  }
  await adb.push(serial, local, remote, mode, (b) => onProgress?.(b, size), signal);
  const after = await same();
  if (!after.ok) {
    // A short file is what a full disk or a dropped connection leaves behind.
    await adb.shell(serial, command('rm', '-f', remote), { timeoutMs: 10_000 }).catch(() => undefined);
    const freeNow = await remoteFreeBytes(adb, serial, dir).catch(() => null);
    if (freeNow !== null && freeNow < size) {
      throw new AppError('DISK_FULL', `The phone ${serial} ran out of storage while receiving ${path.basename(local)}. Free some space on it and run again.`);
    }
    const what = after.d ? `a different ${after.d.algo === 'size' ? 'size' : after.d.algo.toUpperCase()} (${after.d.value})` : 'nothing readable there';
    throw new AppError('PUSH_CORRUPT', `${path.basename(local)} arrived on ${serial} with ${what}. Run again; if it repeats, check the cable.`);
  }
  if (mode & 0o111) await adb.run(serial, sequence(command('chmod', '755', remote)), `Making ${remote} executable`);
  return { pushed: true, hash: after.d!.algo, hashNote: hashNote(after.d!.algo) };
}

/** Make sure the phone has this exact runner (pushed once; hash compared first). */
export async function provisionRunner(adb: Adbc, serial: string, r: RunnerRecord, onProgress?: (bytes: number, total: number) => void, signal?: AbortSignal) {
  await verifyRunner(r);
  return pushIfChanged(adb, serial, r.path, r.sha256, REMOTE_RUNNER, 0o755, onProgress, signal);
}

/** Models go under their content hash: the same file is never pushed twice. */
export function remoteModelPath(sha256: string): string {
  return `${REMOTE_DIR}/models/${sha256}.tflite`;
}
