import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { readZipEntry } from './zip-read';

/** A stand-in model (bytes that include a stray zip signature, as weights can) with a zip appended. */
function withZip(files: Record<string, Uint8Array>): Uint8Array {
  const model = new Uint8Array(4096).fill(7);
  model.set([0x50, 0x4b, 0x03, 0x04, 0xff, 0xff], 100);
  const zip = zipSync(files, { level: 9 });
  // The populator's archive is a zip whose offsets count from the start of the whole file.
  const out = new Uint8Array(model.length + zip.length);
  out.set(model);
  out.set(zip, model.length);
  const v = new DataView(out.buffer);
  const eocd = out.length - 22;
  v.setUint32(eocd + 16, v.getUint32(eocd + 16, true) + model.length, true);
  let at = v.getUint32(eocd + 16, true);
  for (let n = 0; n < v.getUint16(eocd + 10, true); n++) {
    v.setUint32(at + 42, v.getUint32(at + 42, true) + model.length, true);
    at += 46 + v.getUint16(at + 28, true) + v.getUint16(at + 30, true) + v.getUint16(at + 32, true);
  }
  return out;
}

describe('readZipEntry (associated files of a .tflite)', () => {
  it('reads a stored or deflated entry after the model bytes, and null when absent', () => {
    const bytes = withZip({ 'labels.txt': strToU8('cat\ndog\n'), 'vocab.txt': [strToU8('x'), { level: 0 }] as unknown as Uint8Array });
    expect(new TextDecoder().decode(readZipEntry(bytes, 'labels.txt')!)).toBe('cat\ndog\n');
    expect(readZipEntry(bytes, 'nope.txt')).toBeNull();
    expect(readZipEntry(new Uint8Array(100), 'labels.txt')).toBeNull();
  });

  it('refuses an entry that inflates past the limit (a zip bomb) instead of inflating it', () => {
    const bytes = withZip({ 'labels.txt': new Uint8Array(64 << 20) });
    expect(bytes.length).toBeLessThan(1 << 20);
    expect(() => readZipEntry(bytes, 'labels.txt', 'bomb.tflite')).toThrow(/bomb\.tflite: "labels\.txt" inflates to more than 16777216 bytes .* PocketBench stopped reading it\. Export or download the model again\./);
  });

  it('a labels archive cut short is an error, not a silent success', () => {
    const bytes = withZip({ 'labels.txt': strToU8('a\n'.repeat(5000)) });
    // Keep the central directory (so the entry is found) but damage the deflated data.
    const v = new DataView(bytes.buffer);
    const localHeader = v.getUint32(v.getUint32(bytes.length - 22 + 16, true) + 42, true);
    bytes.fill(0xff, localHeader + 30 + 'labels.txt'.length, localHeader + 60);
    expect(() => readZipEntry(bytes, 'labels.txt', 'cut.tflite')).toThrow(/cut\.tflite: "labels\.txt" cannot be inflated/);
  });
});
