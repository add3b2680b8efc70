/**
 * Decoded pixels of image-folder datasets, kept on disk by content hash and decode options:
 * decoding thousands of JPEGs takes far longer than reading one flat file, and the same folder is
 * loaded for every run. A hit skips decoding and header reads alike. The cache is an optimisation
 * only; any problem with it means "decode again".
 */
import fs from 'node:fs';
import path from 'node:path';

export interface CachedShape {
  height: number;
  width: number;
  channels: 1 | 3;
}

const VERSION = 'v1';

/** `options` = what the user asked for (size/channels or "auto"), so the same request hits. */
function base(dir: string, contentHash: string, options: string): string {
  return path.join(dir, `${VERSION}-${contentHash.slice(0, 32)}-${options}`);
}

export function readPixelCache(dir: string, contentHash: string, options: string, n: number): { shape: CachedShape; pixels: Uint8Array } | null {
  const b = base(dir, contentHash, options);
  try {
    const shape = JSON.parse(fs.readFileSync(`${b}.json`, 'utf8')) as CachedShape;
    const buf = fs.readFileSync(`${b}.u8`);
    if (buf.length !== n * shape.height * shape.width * shape.channels) return null;
    return { shape, pixels: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) };
  } catch {
    return null;
  }
}

export function writePixelCache(dir: string, contentHash: string, options: string, shape: CachedShape, pixels: Uint8Array): void {
  const b = base(dir, contentHash, options);
  const tmp = `${b}.${process.pid}.partial`;
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(tmp, pixels);
    fs.renameSync(tmp, `${b}.u8`);
    // The shape last: a reader that finds it also finds complete pixels.
    fs.writeFileSync(`${b}.json`, JSON.stringify({ height: shape.height, width: shape.width, channels: shape.channels }));
  } catch {
    // A full disk or read-only folder must not fail the load; next time we decode again.
    fs.rmSync(tmp, { force: true });
  }
}
