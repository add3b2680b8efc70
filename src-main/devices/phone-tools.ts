/**
 * Tools a phone may lack, and what we do instead. Android's shell utilities by version (AOSP
 * system/core/shell_and_utilities/README.md): toybox from Android 6.0 has `md5sum`, `sha1sum` and
 * `taskset`; `sha256sum` arrived with Android 8.0; Android 5.x and older have toolbox's `md5` and no
 * `taskset`. Vendors also strip tools. So a file on the phone is hashed with the first of
 * sha256sum → sha1sum → md5sum → md5 that exists (the local file hashed with the same algorithm), and
 * by its size (`ls -l`) when none does; the method is recorded with the benchmark.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Adbc } from './adb';
import { command } from './shell-quote';

export type HashAlgo = 'sha256' | 'sha1' | 'md5' | 'size';

const TOOLS: { algo: Exclude<HashAlgo, 'size'>; tool: string; hexLen: number }[] = [
  { algo: 'sha256', tool: 'sha256sum', hexLen: 64 },
  { algo: 'sha1', tool: 'sha1sum', hexLen: 40 },
  { algo: 'md5', tool: 'md5sum', hexLen: 32 },
  { algo: 'md5', tool: 'md5', hexLen: 32 },
];

/** A shell's words for a command that does not exist (mksh: "inaccessible or not found"; sh: "not found"). */
export function toolMissing(r: { exitCode: number; output: string }): boolean {
  return r.exitCode === 127 || /(?:inaccessible or )?not found|No such tool|unknown command/i.test(r.output.split('\n')[0] ?? '');
}

type Tool = (typeof TOOLS)[number];
/** What each phone turned out to have, per ADB client and serial (a re-attached phone is probed again by a new lab). */
const probed = new WeakMap<Adbc, Map<string, { hash?: Tool | null; taskset?: boolean }>>();
function memo(adb: Adbc, serial: string): { hash?: Tool | null; taskset?: boolean } {
  let m = probed.get(adb);
  if (!m) probed.set(adb, (m = new Map()));
  let e = m.get(serial);
  if (!e) m.set(serial, (e = {}));
  return e;
}

export interface RemoteDigest {
  algo: HashAlgo;
  /** Hex digest, or the size in bytes as a string for `size`. */
  value: string;
}

/** The file's digest on the phone with the best tool it has; null when the file is not there. */
export async function remoteDigest(adb: Adbc, serial: string, remote: string): Promise<RemoteDigest | null> {
  const seen = memo(adb, serial);
  const candidates = seen.hash === undefined ? TOOLS : seen.hash === null ? [] : [seen.hash];
  for (const t of candidates) {
    const r = await adb.shell(serial, command(t.tool, remote), { timeoutMs: 60_000 });
    if (toolMissing(r)) continue;
    seen.hash = t;
    if (r.exitCode !== 0) return null;
    // toybox/GNU print "HEX  FILE"; toolbox md5 prints "HEX  FILE" too.
    const m = new RegExp(`^([0-9a-f]{${t.hexLen}})\\b`, 'm').exec(r.output);
    return m ? { algo: t.algo, value: m[1] } : null;
  }
  seen.hash = null;
  const r = await adb.shell(serial, command('ls', '-l', remote), { timeoutMs: 15_000 });
  if (r.exitCode !== 0) return null;
  // `-rwxr-xr-x 1 shell shell 1234567 2024-01-01 10:00 /path` (toybox) or toolbox's `… shell shell 1234567 …`.
  const cols = r.output.trim().split(/\s+/);
  const size = cols.find((c, i) => i >= 3 && /^\d+$/.test(c) && /[-:]/.test(cols[i + 1] ?? ''));
  return size ? { algo: 'size', value: size } : null;
}

/** The local file's digest with the same algorithm (sha256 is usually known already). */
export async function localDigest(file: string, algo: HashAlgo, sha256?: string): Promise<string> {
  if (algo === 'size') return String(fs.statSync(file).size);
  if (algo === 'sha256' && sha256) return sha256;
  return new Promise((resolve, reject) => {
    const h = crypto.createHash(algo);
    fs.createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

/** Said to the user (and stored) when the phone could not check SHA-256. */
export function hashNote(algo: HashAlgo): string | null {
  if (algo === 'sha256') return null;
  if (algo === 'size') return 'The phone has none of sha256sum, sha1sum, md5sum or md5: pushed files were checked by size only.';
  return `The phone has no sha256sum (toybox has it from Android 8.0): pushed files were checked with ${algo === 'sha1' ? 'SHA-1' : 'MD5'} instead.`;
}

/** Whether `taskset` runs on this phone (toybox from Android 6.0; vendors may remove it). */
export async function hasTaskset(adb: Adbc, serial: string): Promise<boolean> {
  const seen = memo(adb, serial);
  if (seen.taskset !== undefined) return seen.taskset;
  // `taskset -p PID` of the shell itself: prints the mask, changes nothing.
  const r = await adb.shell(serial, 'taskset -p $$', { timeoutMs: 10_000 });
  const ok = !toolMissing(r);
  seen.taskset = ok;
  return ok;
}
