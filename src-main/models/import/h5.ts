/**
 * HDF5 through h5wasm (HDF5's own C library compiled to WebAssembly): open a file's bytes, read
 * what a Keras reader needs, close. Files go into h5wasm's in-memory file system under a unique
 * name and are removed when `fn` returns or throws. HDF5's error stack is turned into exceptions
 * (h5wasm's throwing error handler) instead of being printed to stderr; `h5Error` keeps the line
 * that says what was wrong (e.g. "truncated file: eof = 1000000, … stored_eof = 2453440").
 */
import h5wasm, { type Dataset, type File as H5File, type Group } from 'h5wasm';
import { AppError } from '../../../src-shared/errors';

export type { Dataset, Group, H5File };

/** The 8-byte HDF5 signature; a file may start with a user block of 512, 1024, 2048… bytes. */
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

export function isHdf5(bytes: Uint8Array): boolean {
  for (let off = 0; off + 8 <= bytes.length; off = off === 0 ? 512 : off * 2) {
    if (SIGNATURE.every((b, i) => bytes[off + i] === b)) return true;
    if (off > 1 << 20) break;
  }
  return false;
}

let module: Awaited<typeof h5wasm.ready> | null = null;
let seq = 0;

async function ready(): Promise<NonNullable<typeof module>> {
  if (!module) {
    module = await h5wasm.ready;
    (module as unknown as { activate_throwing_error_handler(): number }).activate_throwing_error_handler();
  }
  return module;
}

/** The most specific line of an HDF5 error stack ("truncated file: …"), or the message itself. */
export function h5Error(err: unknown): string {
  const msg = String((err as Error)?.message ?? err);
  const lines = [...msg.matchAll(/line \d+ in [\w]+\(\): (.+)$/gm)].map((m) => m[1].trim());
  return lines.length ? lines[lines.length - 1] : msg.split('\n')[0];
}

/** Open `bytes` as an HDF5 file, run `fn`, always close and delete it. */
export async function withH5<T>(bytes: Uint8Array, what: string, fn: (f: H5File) => T | Promise<T>): Promise<T> {
  const M = await ready();
  const name = `/pb-import-${process.pid}-${++seq}.h5`;
  M.FS!.writeFile(name, bytes);
  let f: H5File | null = null;
  try {
    try {
      f = new h5wasm.File(name, 'r');
      f.keys(); // h5wasm opens lazily: a damaged file fails here
    } catch (err) {
      throw new AppError('INVALID_MODEL', `${what} cannot be read as HDF5 (${h5Error(err)}). The file is damaged or cut short: copy or export it again.`, { file: what });
    }
    return await fn(f);
  } finally {
    try {
      f?.close();
    } catch {
      /* a file that failed to open has nothing to close */
    }
    M.FS!.unlink(name);
  }
}

/** Write an HDF5 file in memory with `fn` and return its bytes (for tests that make their own Keras files). */
export async function writeH5(fn: (f: H5File) => void): Promise<Uint8Array> {
  const M = await ready();
  const name = `/pb-write-${process.pid}-${++seq}.h5`;
  const f = new h5wasm.File(name, 'w');
  try {
    fn(f);
  } finally {
    f.close();
  }
  const bytes = M.FS!.readFile(name) as Uint8Array;
  M.FS!.unlink(name);
  return bytes;
}

/** A string attribute (Keras writes JSON and names as fixed or variable-length strings). */
export function stringAttr(node: Group | Dataset, name: string): string | null {
  const a = node.attrs[name];
  if (!a) return null;
  const v = a.value as unknown;
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0];
  return v == null ? null : String(v);
}

/**
 * A list-of-strings attribute, joined across Keras' chunks: an attribute larger than HDF5's 64 KiB
 * object-header limit is split into `name0`, `name1`, … (keras/src/legacy/saving/hdf5_format.py
 * `save_attributes_to_hdf5_group` / `load_attributes_from_hdf5_group`).
 */
export function stringListAttr(node: Group, name: string): string[] | null {
  const one = (n: string): string[] | null => {
    const a = node.attrs[n];
    if (!a) return null;
    const v = a.value as unknown;
    const arr = Array.isArray(v) ? v : [v];
    return arr.map((x) => (x instanceof Uint8Array ? new TextDecoder().decode(x) : String(x)));
  };
  const whole = one(name);
  if (whole) return whole;
  const parts: string[] = [];
  for (let i = 0; ; i++) {
    const p = one(`${name}${i}`);
    if (!p) break;
    parts.push(...p);
  }
  return parts.length || node.attrs[`${name}0`] ? parts : null;
}

export function isGroup(e: unknown): e is Group {
  return e instanceof h5wasm.Group;
}

export function isDataset(e: unknown): e is Dataset {
  return e instanceof h5wasm.Dataset;
}

/** A dataset's values as float32 (Keras stores float32; float64 and float16 are converted). */
export function datasetFloat32(d: Dataset, what: string): { shape: number[]; values: Float32Array } {
  const shape = (d.shape ?? []).map(Number);
  const meta = d.metadata as { type: number; size: number };
  let v: unknown;
  try {
    v = d.value;
  } catch (err) {
    throw new AppError('INVALID_MODEL', `${what}: the weight "${d.path}" cannot be read (${h5Error(err)}); the file is damaged or cut short.`, { file: what, weight: d.path });
  }
  if (v instanceof Float32Array) return { shape, values: v };
  if (v instanceof Float64Array) return { shape, values: Float32Array.from(v) };
  if (meta.type === 1 && meta.size === 2 && v instanceof Uint16Array) return { shape, values: halfToFloat(v) };
  throw new AppError('UNSUPPORTED', `${what}: the weight "${d.path}" is stored as ${d.dtype}, not as floating point; PocketBench imports float models only.`, { file: what, weight: d.path });
}

function halfToFloat(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const x = h[i];
    const s = x & 0x8000 ? -1 : 1;
    const e = (x >> 10) & 0x1f;
    const m = x & 0x3ff;
    out[i] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}
