/**
 * Reading named entries of a zip (a Keras 3 `.keras` file) with fflate, within size limits: a
 * hostile archive (a "zip bomb": kilobytes that inflate to gigabytes, or headers that lie about
 * sizes) must not exhaust memory. The archive is fed to fflate's streaming `Unzip` in 16 KiB
 * pieces, so at most one piece's output (≤ 1032× its size, deflate's limit: 16.5 MiB) is produced
 * before the inflated bytes are counted against the limit; sizes declared in the headers are
 * checked too, but the count of bytes actually inflated is what decides.
 */
import { Unzip, UnzipInflate, type UnzipFile } from 'fflate';
import { AppError } from '../../../src-shared/errors';

export interface ZipLimits {
  /** Largest inflated size of one entry. */
  maxEntryBytes: number;
  /** Largest inflated size of all wanted entries together. */
  maxTotalBytes: number;
}

/** A `.keras` holds a small config.json and model.weights.h5; 1 GiB is far above any phone model. */
export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxEntryBytes: 1 << 30, maxTotalBytes: 1 << 30 };

export const ZIP_PIECE_BYTES = 16 * 1024;

/**
 * The entries of `data` whose names `want` accepts, inflated. Throws `INVALID_MODEL` when the
 * archive is not a zip or is damaged, `TOO_LARGE` when an entry or the total passes the limits.
 */
export function readZipEntries(
  data: Uint8Array,
  want: (name: string) => boolean,
  what: string,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
  /** What the user should do about a damaged archive. */
  remedy = 'Save the model again with Keras.',
): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const open: { name: string; chunks: Uint8Array[]; bytes: number; done: boolean }[] = [];
  let total = 0;
  let failure: AppError | null = null;
  const tooLarge = (name: string, bytes: number, limit: number, scope: string) =>
    new AppError(
      'TOO_LARGE',
      `${what}: "${name}" inflates to more than ${limit} bytes (${scope}; at least ${bytes} bytes). The archive is damaged or hostile (a zip bomb); PocketBench stopped reading it. ${remedy}`,
      { file: what, entry: name, limit, bytes },
    );
  const uz = new Unzip();
  uz.register(UnzipInflate);
  uz.onfile = (file: UnzipFile) => {
    if (failure || !want(file.name)) return;
    if (file.compression !== 0 && file.compression !== 8) {
      failure = new AppError('INVALID_MODEL', `${what}: "${file.name}" uses zip compression method ${file.compression}; only stored and deflated entries can be read. ${remedy}`, { file: what });
      return;
    }
    if (file.originalSize !== undefined && file.originalSize > limits.maxEntryBytes) {
      failure = tooLarge(file.name, file.originalSize, limits.maxEntryBytes, 'the size its header declares');
      return;
    }
    const entry = { name: file.name, chunks: [] as Uint8Array[], bytes: 0, done: false };
    open.push(entry);
    file.ondata = (err, chunk, final) => {
      if (failure) return;
      if (err) {
        failure = new AppError('INVALID_MODEL', `${what}: "${file.name}" cannot be inflated (${err.message}); the file is damaged or cut short.`, { file: what });
        return;
      }
      entry.bytes += chunk.length;
      total += chunk.length;
      if (entry.bytes > limits.maxEntryBytes) failure = tooLarge(file.name, entry.bytes, limits.maxEntryBytes, 'limit per entry');
      else if (total > limits.maxTotalBytes) failure = tooLarge(file.name, total, limits.maxTotalBytes, 'limit for the whole model');
      if (failure) {
        file.terminate();
        entry.chunks = [];
        return;
      }
      entry.chunks.push(chunk);
      if (final) entry.done = true;
    };
    file.start();
  };
  try {
    for (let i = 0; i < data.length && !failure; i += ZIP_PIECE_BYTES) uz.push(data.subarray(i, Math.min(i + ZIP_PIECE_BYTES, data.length)), i + ZIP_PIECE_BYTES >= data.length);
  } catch (err) {
    if (!failure) failure = new AppError('INVALID_MODEL', `${what} is not a readable zip archive (${(err as Error).message}); the file is damaged or cut short. ${remedy}`, { file: what });
  }
  if (failure) throw failure;
  for (const e of open) {
    if (!e.done) throw new AppError('INVALID_MODEL', `${what}: "${e.name}" ends before its data does; the file is cut short. Copy or save it again.`, { file: what });
    const buf = new Uint8Array(e.bytes);
    let o = 0;
    for (const c of e.chunks) {
      buf.set(c, o);
      o += c.length;
    }
    out.set(e.name, buf);
  }
  return out;
}
