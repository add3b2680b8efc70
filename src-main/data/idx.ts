/**
 * IDX files (the MNIST family's format): 2 zero bytes, a dtype byte, a rank byte, one big-endian
 * uint32 per dimension, then the values big-endian in row-major order. Files may be gzipped; that
 * is detected from the content, not the file name.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { AppError } from '../../src-shared/errors';

const DTYPES = {
  0x08: { name: 'uint8', bytes: 1 },
  0x09: { name: 'int8', bytes: 1 },
  0x0b: { name: 'int16', bytes: 2 },
  0x0c: { name: 'int32', bytes: 4 },
  0x0d: { name: 'float32', bytes: 4 },
  0x0e: { name: 'float64', bytes: 8 },
} as const;

export type IdxDtype = (typeof DTYPES)[keyof typeof DTYPES]['name'];

export interface IdxArray {
  dtype: IdxDtype;
  dims: number[];
  /** uint8/int8 data is a view of the file bytes (no copy); wider types are decoded. */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

function invalid(file: string, problem: string): AppError {
  return new AppError('INVALID_DATA', `${file} is not a valid IDX file: ${problem}.`, { file });
}

/** Parse IDX bytes (already decompressed). `file` only names the source in errors. */
export function parseIdx(buf: Uint8Array, file = 'IDX data'): IdxArray {
  if (buf.length < 4) throw invalid(file, `it has only ${buf.length} bytes, fewer than the 4-byte header`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw invalid(file, `it starts with bytes 0x${hex(buf[0])} 0x${hex(buf[1])} instead of 0x00 0x00 (wrong file, or a compressed format other than gzip)`);
  }
  const dtype = DTYPES[buf[2] as keyof typeof DTYPES];
  if (!dtype) throw invalid(file, `unknown data type code 0x${hex(buf[2])} (expected one of 08, 09, 0B, 0C, 0D, 0E)`);
  const rank = buf[3];
  if (rank === 0) throw invalid(file, 'it declares zero dimensions');
  const headerBytes = 4 + 4 * rank;
  if (buf.length < headerBytes) throw invalid(file, `it is truncated inside the header (${buf.length} of ${headerBytes} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < rank; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = count * dtype.bytes;
  const actual = buf.length - headerBytes;
  if (actual < expected) {
    throw invalid(file, `it is truncated: the header declares ${dims.join('×')} ${dtype.name} values (${expected} bytes) but only ${actual} bytes follow; download it again`);
  }
  if (actual > expected) {
    throw invalid(file, `${actual - expected} unexpected bytes follow the ${dims.join('×')} ${dtype.name} values the header declares`);
  }
  return { dtype: dtype.name, dims, data: decode(buf, headerBytes, count, dtype.name, view) };
}

function decode(buf: Uint8Array, at: number, count: number, dtype: IdxDtype, view: DataView): IdxArray['data'] {
  switch (dtype) {
    case 'uint8':
      return buf.subarray(at, at + count);
    case 'int8':
      return new Int8Array(buf.buffer, buf.byteOffset + at, count);
    case 'int16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(at + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(at + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(at + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(at + 8 * i, false);
      return out;
    }
  }
}

/** The largest IDX data PocketBench inflates (Fashion-MNIST's training images are 47 MB). */
export const IDX_MAX_BYTES = 2 ** 31 - 1;

/**
 * File bytes, gunzipped when they start with the gzip magic. The gzip stream is never inflated
 * beyond what the IDX header inside it declares (nor beyond `maxBytes`): a hostile file of a few
 * kilobytes that inflates to gigabytes is refused instead of exhausting memory.
 */
export function readMaybeGzip(file: string, maxBytes = IDX_MAX_BYTES): Buffer {
  const raw = fs.readFileSync(file);
  if (raw.length < 2 || raw[0] !== 0x1f || raw[1] !== 0x8b) return raw;
  const damaged = (err: unknown) => new AppError('INVALID_DATA', `${file} is a damaged gzip file (${(err as Error).message}); download it again.`, { file });
  let head: Buffer;
  try {
    // The first 4 KiB of the stream (≤ 4 MiB inflated) hold the header.
    head = zlib.gunzipSync(raw.subarray(0, 4096), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch (err) {
    throw damaged(err);
  }
  const tooLarge = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
  const declared = idxBytesDeclared(head);
  if (declared === null) {
    // No IDX header: a damaged stream says so; otherwise parseIdx names what is wrong with the bytes.
    try {
      zlib.gunzipSync(raw, { maxOutputLength: 4 << 20 });
    } catch (err) {
      if (!tooLarge(err)) throw damaged(err);
    }
    return head;
  }
  if (declared > maxBytes) {
    throw new AppError('TOO_LARGE', `${file} declares ${declared} bytes of IDX data, more than the ${maxBytes} PocketBench reads. Use a smaller dataset or split it.`, { file, declared, maxBytes });
  }
  try {
    return zlib.gunzipSync(raw, { maxOutputLength: declared });
  } catch (err) {
    if (tooLarge(err)) {
      throw new AppError('INVALID_DATA', `${file} inflates to more than the ${declared} bytes its IDX header declares; the file is damaged or hostile, and PocketBench stopped reading it. Download it again.`, { file, declared });
    }
    throw damaged(err);
  }
}

/** Header plus data bytes an IDX header declares, or null when `head` does not start with one. */
function idxBytesDeclared(head: Uint8Array): number | null {
  if (head.length < 4 || head[0] !== 0 || head[1] !== 0 || !DTYPES[head[2] as keyof typeof DTYPES] || head[3] === 0) return null;
  const headerBytes = 4 + 4 * head[3];
  if (head.length < headerBytes) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let count = 1;
  for (let d = 0; d < head[3]; d++) count *= view.getUint32(4 + 4 * d, false);
  return headerBytes + count * DTYPES[head[2] as keyof typeof DTYPES].bytes;
}

export function readIdxFile(file: string): IdxArray {
  return parseIdx(readMaybeGzip(file), file);
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0').toUpperCase();
}
