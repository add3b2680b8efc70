/**
 * Decoded pixels of image-folder datasets, kept on disk by content hash and decode shape: decoding
 * thousands of JPEGs takes far longer than reading one flat file, and the same folder is loaded
 * for every run. The cache is an optimisation only; any problem with it means "decode again".
 */
import fs from 'node:fs';
import path from 'node:path';

interface Shape {
  height: number;
  width: number;
  channels: number;
}

const VERSION = 'v1';

function cacheFile(dir: string, contentHash: string, s: Shape): string {
  return path.join(dir, `${VERSION}-${contentHash.slice(0, 32)}-${s.height}x${s.width}x${s.channels}.u8`);
}

export function readPixelCache(dir: string, contentHash: string, shape: Shape, n: number): Uint8Array | null {
  const file = cacheFile(dir, contentHash, shape);
  try {
    const buf = fs.readFileSync(file);
    if (buf.length !== n * shape.height * shape.width * shape.channels) return null;
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch {
    return null;
  }
}

export function writePixelCache(dir: string, contentHash: string, shape: Shape, pixels: Uint8Array): void {
  const file = cacheFile(dir, contentHash, shape);
  const tmp = `${file}.${process.pid}.partial`;
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(tmp, pixels);
    fs.renameSync(tmp, file);
  } catch {
    // A full disk or read-only folder must not fail the load; next time we decode again.
    fs.rmSync(tmp, { force: true });
  }
}
