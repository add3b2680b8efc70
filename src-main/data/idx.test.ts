import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { idxBytes } from '../../test/fixtures/data-fixtures';
import { parseIdx, readIdxFile, readMaybeGzip } from './idx';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-idx-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('parseIdx', () => {
  it('reads uint8 images with their dimensions, without copying', () => {
    const values = Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 10);
    const buf = idxBytes(0x08, [2, 3, 4], values);
    const idx = parseIdx(buf);
    expect(idx.dtype).toBe('uint8');
    expect(idx.dims).toEqual([2, 3, 4]);
    expect(Array.from(idx.data)).toEqual(values);
    expect((idx.data as Uint8Array).buffer).toBe(buf.buffer);
  });

  it('decodes wider types big-endian', () => {
    expect(Array.from(parseIdx(idxBytes(0x0c, [3], [1, -2, 70000])).data)).toEqual([1, -2, 70000]);
    expect(Array.from(parseIdx(idxBytes(0x0b, [2], [-300, 300])).data)).toEqual([-300, 300]);
    expect(Array.from(parseIdx(idxBytes(0x0d, [2], [1.5, -0.25])).data)).toEqual([1.5, -0.25]);
    expect(Array.from(parseIdx(idxBytes(0x0e, [1], [Math.PI])).data)).toEqual([Math.PI]);
    expect(Array.from(parseIdx(idxBytes(0x09, [2], [-5, 7])).data)).toEqual([-5, 7]);
  });

  it('rejects a wrong magic number, naming the file', () => {
    const buf = idxBytes(0x08, [2], [1, 2]);
    buf[0] = 0x50;
    expect(() => parseIdx(buf, 'x.idx')).toThrow(/x\.idx is not a valid IDX file: it starts with bytes 0x50 0x00/);
    const bad = idxBytes(0x08, [2], [1, 2]);
    bad[2] = 0x07;
    expect(() => parseIdx(bad, 'y.idx')).toThrow(/unknown data type code 0x07/);
  });

  it('rejects truncated headers and data, and trailing bytes', () => {
    const buf = idxBytes(0x08, [10, 5], new Array(50).fill(1));
    expect(() => parseIdx(buf.subarray(0, 2), 'f')).toThrow(/fewer than the 4-byte header/);
    expect(() => parseIdx(buf.subarray(0, 9), 'f')).toThrow(/truncated inside the header/);
    expect(() => parseIdx(buf.subarray(0, 40), 'f')).toThrow(/truncated: the header declares 10×5 uint8 values \(50 bytes\) but only 28 bytes follow/);
    expect(() => parseIdx(Buffer.concat([buf, Buffer.from([1, 2])]), 'f')).toThrow(/2 unexpected bytes follow/);
    try {
      parseIdx(buf.subarray(0, 40), 'f');
    } catch (err) {
      expect((err as { code: string }).code).toBe('INVALID_DATA');
    }
  });
});

describe('readIdxFile', () => {
  it('reads plain and gzipped files alike (detected from content, not name)', () => {
    const buf = idxBytes(0x08, [4], [9, 8, 7, 6]);
    fs.writeFileSync(path.join(tmp, 'plain'), buf);
    fs.writeFileSync(path.join(tmp, 'zipped-without-extension'), zlib.gzipSync(buf));
    expect(Array.from(readIdxFile(path.join(tmp, 'plain')).data)).toEqual([9, 8, 7, 6]);
    expect(Array.from(readIdxFile(path.join(tmp, 'zipped-without-extension')).data)).toEqual([9, 8, 7, 6]);
  });

  it('never inflates past the size the IDX header declares (a gzip bomb stops there)', () => {
    // Header: 5 uint8 values; then 64 MiB of zeros that compress to ~64 KiB.
    const bomb = Buffer.concat([idxBytes(0x08, [5], [1, 2, 3, 4, 5]), Buffer.alloc(64 << 20)]);
    const file = path.join(tmp, 'bomb.gz');
    fs.writeFileSync(file, zlib.gzipSync(bomb, { level: 9 }));
    expect(() => readIdxFile(file)).toThrow(/inflates to more than the 13 bytes its IDX header declares; the file is damaged or hostile/);
  });

  it('refuses a header that declares more than it reads, before inflating', () => {
    const file = path.join(tmp, 'huge.gz');
    fs.writeFileSync(file, zlib.gzipSync(idxBytes(0x08, [2], [1, 2])));
    expect(() => readMaybeGzip(file, 5)).toThrow(/declares 10 bytes of IDX data, more than the 5 PocketBench reads/);
    expect(Array.from(readMaybeGzip(file, 10))).toEqual([0, 0, 8, 1, 0, 0, 0, 2, 1, 2]);
  });

  it('names a damaged gzip file', () => {
    const gz = zlib.gzipSync(idxBytes(0x08, [1000], new Array(1000).fill(3)));
    const file = path.join(tmp, 'cut.gz');
    fs.writeFileSync(file, gz.subarray(0, gz.length >> 1));
    expect(() => readIdxFile(file)).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is a damaged gzip file`));
  });
});
