/**
 * Reads one entry of the zip archive a `.tflite` may carry at its end (associated files such as
 * labels.txt, as the TFLite metadata populator packs them). Returns null when there is no archive or
 * no such entry: associated files are optional, so their absence is not an error.
 *
 * Inflating is fflate's streaming reader with size limits (models/import/zip.ts), never a one-shot
 * inflate: a hostile file whose few kilobytes inflate to gigabytes is refused with TOO_LARGE before
 * it can exhaust memory. Only locating the entry is done here: the archive follows the model's
 * flatbuffer, whose weights may hold the bytes of a zip signature, so the reader starts at the local
 * header the central directory names instead of scanning the whole file.
 */
import { AppError } from '../../src-shared/errors';
import { readZipEntries, type ZipLimits } from '../models/import/zip';

/** Associated files are labels and vocabularies: 16 MiB is far above any real one. */
export const ASSOCIATED_FILE_LIMITS: ZipLimits = { maxEntryBytes: 16 << 20, maxTotalBytes: 16 << 20 };

const REMEDY = 'Export or download the model again.';

export function readZipEntry(bytes: Uint8Array, name: string, what = 'The model file', limits: ZipLimits = ASSOCIATED_FILE_LIMITS): Uint8Array | null {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = endOfCentralDirectory(bytes);
  if (eocd < 0) return null;
  const count = v.getUint16(eocd + 10, true);
  let at = v.getUint32(eocd + 16, true);
  const dec = new TextDecoder();
  for (let n = 0; n < count && at + 46 <= bytes.length; n++) {
    if (v.getUint32(at, true) !== 0x02014b50) return null;
    const nameLen = v.getUint16(at + 28, true);
    const local = v.getUint32(at + 42, true);
    if (dec.decode(bytes.subarray(at + 46, at + 46 + nameLen)) === name) {
      if (local + 30 > bytes.length || v.getUint32(local, true) !== 0x04034b50) return null;
      return readZipEntries(bytes.subarray(local), (entry) => entry === name, what, limits, REMEDY).get(name) ?? null;
    }
    at += 46 + nameLen + v.getUint16(at + 30, true) + v.getUint16(at + 32, true);
  }
  return null;
}

/**
 * A file the model's TFLite metadata names (labels, vocabulary). The metadata populator refuses to
 * write metadata naming a file it does not pack, so a missing one means the model file was cut short
 * (the archive is its last part) or damaged: an error, never a silent model without labels.
 */
export function readAssociatedFile(bytes: Uint8Array, name: string, what: string): Uint8Array {
  const data = readZipEntry(bytes, name, what);
  if (data) return data;
  const archive = endOfCentralDirectory(bytes) >= 0;
  throw new AppError(
    'INVALID_FILE',
    `${what}: its TFLite metadata names the file "${name}", but ${archive ? 'the archive packed in the model does not hold it' : 'the model ends before the archive that holds it'}; the file was cut short or damaged. Copy, export or download it again.`,
    { file: what, entry: name },
  );
}

/** Offset of the end-of-central-directory record (in the last 22 + 65535 bytes), or -1. */
function endOfCentralDirectory(bytes: Uint8Array): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) if (v.getUint32(i, true) === 0x06054b50) return i;
  return -1;
}
