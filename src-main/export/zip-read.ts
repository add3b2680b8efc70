/**
 * Reads one entry of the zip archive a `.tflite` may carry at its end (associated files such as
 * labels.txt, as the TFLite metadata populator packs them). Returns null when there is no archive or
 * no such entry: associated files are optional, so their absence is not an error.
 */
import { inflateRawSync } from 'node:zlib';

export function readZipEntry(bytes: Uint8Array, name: string): Uint8Array | null {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end-of-central-directory record is in the last 22 + 65535 bytes.
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (v.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return null;
  const count = v.getUint16(eocd + 10, true);
  let at = v.getUint32(eocd + 16, true);
  const dec = new TextDecoder();
  for (let n = 0; n < count && at + 46 <= bytes.length; n++) {
    if (v.getUint32(at, true) !== 0x02014b50) return null;
    const method = v.getUint16(at + 10, true);
    const size = v.getUint32(at + 20, true);
    const nameLen = v.getUint16(at + 28, true);
    const extraLen = v.getUint16(at + 30, true);
    const commentLen = v.getUint16(at + 32, true);
    const local = v.getUint32(at + 42, true);
    const entry = dec.decode(bytes.subarray(at + 46, at + 46 + nameLen));
    if (entry === name) {
      if (local + 30 > bytes.length || v.getUint32(local, true) !== 0x04034b50) return null;
      const start = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
      if (start + size > bytes.length) return null;
      const data = bytes.subarray(start, start + size);
      if (method === 0) return data;
      if (method === 8) return new Uint8Array(inflateRawSync(data));
      return null;
    }
    at += 46 + nameLen + extraLen + commentLen;
  }
  return null;
}
