/** Artifact files out: the download name, the bytes for a browser download, the copy for a save dialog, and clear refusals. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { unzipSync } from 'fflate';
import { downloadName, modelFolderFiles, readArtifactFile, saveArtifactFile } from './files';

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
    expect(() => readArtifactFile({ ...art, path: dir, format: 'tflite' })).toThrow(/model folder.*export it to \.tflite/);
    expect(() => saveArtifactFile(art, 'relative.tflite')).toThrow(/full path/);
  });
});

/** A TF.js model folder as PocketBench writes it (model.json + shards), plus a file that is not the model's. */
function modelFolder(paths: string[][], extra = true): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-tfjs-'));
  fs.writeFileSync(path.join(d, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: {}, weightsManifest: paths.map((p) => ({ paths: p, weights: [] })) }));
  for (const p of paths.flat()) {
    fs.mkdirSync(path.dirname(path.join(d, p)), { recursive: true });
    fs.writeFileSync(path.join(d, p), Buffer.from(`weights of ${p}`));
  }
  if (extra) fs.writeFileSync(path.join(d, 'notes.txt'), 'not part of the model');
  return d;
}
const tfjs = (p: string) => ({ id: 9, name: 'Student (distilled)', path: p, format: 'tfjs-layers' });

describe('TF.js model folders out as one .zip', () => {
  it('zips model.json and exactly the weight shards its manifest lists, in a folder named like the download', () => {
    const d = modelFolder([['group1-shard1of2.bin', 'group1-shard2of2.bin'], ['sub/group2-shard1of1.bin']]);
    const r = readArtifactFile(tfjs(d));
    expect(r.filename).toBe('Student_distilled-9.zip');
    const entries = unzipSync(Buffer.from(r.base64, 'base64'));
    expect(Object.keys(entries).sort()).toEqual(
      ['model.json', 'group1-shard1of2.bin', 'group1-shard2of2.bin', 'sub/group2-shard1of1.bin'].map((n) => `Student_distilled-9/${n}`).sort(),
    );
    for (const [name, bytes] of Object.entries(entries)) {
      expect(Buffer.from(bytes).equals(fs.readFileSync(path.join(d, name.slice('Student_distilled-9/'.length))))).toBe(true);
    }
    expect(r.bytes).toBe(Buffer.from(r.base64, 'base64').length);
    // The artifact path may also be the model.json itself.
    expect(modelFolderFiles(tfjs(path.join(d, 'model.json'))).files.map((f) => f.name)).toHaveLength(4);
  });

  it('saves the same .zip where the desktop save dialog says', () => {
    const d = modelFolder([['group1-shard1of1.bin']]);
    const dest = path.join(d, '..', `pb-save-${process.pid}.zip`);
    const r = saveArtifactFile(tfjs(d), dest);
    expect(r.path).toBe(dest);
    expect(Object.keys(unzipSync(fs.readFileSync(dest)))).toEqual(['Student_distilled-9/model.json', 'Student_distilled-9/group1-shard1of1.bin']);
    fs.rmSync(dest);
  });

  it('refuses weight paths that leave the folder, links, a missing shard and damaged JSON, naming the problem', () => {
    const outside = path.join(os.tmpdir(), `pb-secret-${process.pid}.txt`);
    fs.writeFileSync(outside, 'secret');
    for (const bad of ['../' + path.basename(outside), outside]) {
      const d = modelFolder([]);
      fs.writeFileSync(path.join(d, 'model.json'), JSON.stringify({ weightsManifest: [{ paths: [bad], weights: [] }] }));
      expect(() => readArtifactFile(tfjs(d))).toThrow(/lies outside the model's folder.*Refusing/);
    }
    const linked = modelFolder([]);
    fs.symlinkSync(outside, path.join(linked, 'w.bin'));
    fs.writeFileSync(path.join(linked, 'model.json'), JSON.stringify({ weightsManifest: [{ paths: ['w.bin'], weights: [] }] }));
    expect(() => readArtifactFile(tfjs(linked))).toThrow(/not a regular file/);
    const missing = modelFolder([['a.bin']]);
    fs.rmSync(path.join(missing, 'a.bin'));
    expect(() => readArtifactFile(tfjs(missing))).toThrow(/missing .*a\.bin/);
    const damaged = modelFolder([['a.bin']]);
    fs.writeFileSync(path.join(damaged, 'model.json'), '{"weightsManifest": [');
    expect(() => readArtifactFile(tfjs(damaged))).toThrow(/not valid JSON/);
    fs.writeFileSync(path.join(damaged, 'model.json'), '{}');
    expect(() => readArtifactFile(tfjs(damaged))).toThrow(/no "weightsManifest"/);
    fs.rmSync(outside);
  });

  it('bounds the download: a folder over 256 MiB is refused before anything is read', () => {
    const d = modelFolder([['big.bin']], false);
    fs.truncateSync(path.join(d, 'big.bin'), 256 * 1024 * 1024 + 1); // sparse: no real disk used
    expect(() => readArtifactFile(tfjs(d))).toThrow(expect.objectContaining({ code: 'TOO_LARGE', message: expect.stringMatching(/over the 256 MiB download limit; copy it from/) }));
  });
});
