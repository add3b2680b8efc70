/** Artifact files out: the download name, the bytes for a browser download, the copy for a save dialog, and clear refusals. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { downloadName, readArtifactFile, saveArtifactFile } from './files';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-files-'));
const file = path.join(dir, '5312e49f.tflite');
fs.writeFileSync(file, Buffer.from('1234TFL3 model bytes'));
const art = { id: 5, name: 'INT8 (minmax) · int8.tflite', path: file, format: 'tflite' };

describe('artifact files out', () => {
  it('names the download after the artifact, with its id and extension', () => {
    expect(downloadName(art)).toBe('INT8_minmax_int8-5.tflite');
  });
  it('reads the exact bytes for a browser download and copies them for a save dialog', () => {
    const r = readArtifactFile(art);
    expect(Buffer.from(r.base64, 'base64').equals(fs.readFileSync(file))).toBe(true);
    expect(r).toMatchObject({ bytes: 20, path: file, filename: 'INT8_minmax_int8-5.tflite' });
    const dest = path.join(dir, 'out', 'copy.tflite');
    fs.mkdirSync(path.dirname(dest));
    expect(saveArtifactFile(art, dest)).toEqual({ path: dest, bytes: 20 });
    expect(fs.readFileSync(dest).equals(fs.readFileSync(file))).toBe(true);
  });
  it('refuses a missing file, a model folder and a relative destination, saying what to do', () => {
    expect(() => readArtifactFile({ ...art, path: path.join(dir, 'gone.tflite') })).toThrow(/missing .*Export the model again/);
    expect(() => readArtifactFile({ ...art, path: dir, format: 'tfjs-layers' })).toThrow(/model folder.*export it to \.tflite/);
    expect(() => saveArtifactFile(art, 'relative.tflite')).toThrow(/full path/);
  });
});
