/** File handlers shared by both transports: checking typed paths, receiving uploads, removing artifacts. */
import fs from 'node:fs';
import path from 'node:path';
import { type Zippable, zipSync } from 'fflate';
import { AppError } from '../../src-shared/errors';
import { safeJoin } from './paths';

export function statPath(p: string): { path: string; exists: boolean; kind: 'file' | 'directory' | null; bytes: number | null } {
  if (!path.isAbsolute(p)) {
    throw new AppError('INVALID_ARGS', `Type a full path (starting with ${process.platform === 'win32' ? 'a drive letter' : '/'}); got ${JSON.stringify(p)}.`);
  }
  const full = path.resolve(p);
  try {
    const st = fs.statSync(full);
    return { path: full, exists: true, kind: st.isDirectory() ? 'directory' : st.isFile() ? 'file' : null, bytes: st.isFile() ? st.size : null };
  } catch {
    return { path: full, exists: false, kind: null, bytes: null };
  }
}

/** Writes one upload chunk below `uploadsDir/uploadId/`. */
export function writeUpload(uploadsDir: string, uploadId: string, relativePath: string, base64: string, append: boolean): { path: string; bytes: number } {
  const dest = safeJoin(path.join(uploadsDir, uploadId), relativePath);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const data = Buffer.from(base64, 'base64');
  if (append) fs.appendFileSync(dest, data);
  else fs.writeFileSync(dest, data);
  return { path: dest, bytes: fs.statSync(dest).size };
}

/** Removes artifact files (and model folders) that live inside the data folder; never anything outside it. */
export function removeArtifactFiles(dataDir: string, paths: string[]): number {
  let removed = 0;
  for (const p of paths) {
    const rel = path.relative(dataDir, p);
    if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) continue;
    try {
      // A TF.js model is a folder (model.json + weights); a .tflite is one file.
      const target = path.basename(p) === 'model.json' ? path.dirname(p) : p;
      fs.rmSync(target, { recursive: true, force: true });
      removed++;
    } catch {
      /* already gone */
    }
  }
  return removed;
}

const MAX_DOWNLOAD = 256 * 1024 * 1024;
/** A model.json is topology and a manifest: anything near this size is not one of ours. */
const MAX_MODEL_JSON = 64 * 1024 * 1024;

type ArtifactRow = { id: number; name: string; path: string; format: string };

function statOrMissing(a: ArtifactRow, p: string): fs.Stats {
  try {
    return fs.lstatSync(p);
  } catch {
    throw new AppError('NOT_FOUND', `The file of artifact #${a.id} is missing (${p}); it was moved or deleted outside PocketBench. Export the model again.`);
  }
}

function tooLarge(a: ArtifactRow, bytes: number, where: string): never {
  throw new AppError('TOO_LARGE', `Artifact #${a.id} is ${bytes} bytes, over the 256 MiB download limit; copy it from ${where} instead.`, { bytes, limit: MAX_DOWNLOAD });
}

function artifactFile(a: ArtifactRow): string {
  const st = statOrMissing(a, a.path);
  if (!st.isFile()) throw new AppError('UNSUPPORTED', `Artifact #${a.id} is a ${a.format} model folder, not one file; export it to .tflite to download it.`);
  if (st.size > MAX_DOWNLOAD) tooLarge(a, st.size, a.path);
  return a.path;
}

/** One file of a TF.js model: its name inside the folder (and the zip) and its full path. */
export interface ModelFolderFile {
  name: string;
  path: string;
  bytes: number;
  mtime: Date;
}

/**
 * The files of a TF.js Layers artifact: its model.json and exactly the weight files its manifest
 * lists, nothing else from the folder. Each listed path must be a plain relative name that stays in
 * the model's folder and is a regular file (a symlink could point anywhere on the machine), and the
 * total is bounded, so a tampered model.json cannot make a download read other files.
 */
export function modelFolderFiles(a: ArtifactRow): { dir: string; files: ModelFolderFile[]; bytes: number } {
  const st = statOrMissing(a, a.path);
  const jsonPath = st.isDirectory() ? path.join(a.path, 'model.json') : a.path;
  const dir = path.dirname(jsonPath);
  const jst = statOrMissing(a, jsonPath);
  const bad = (problem: string): never => {
    throw new AppError('INVALID_MODEL', `Artifact #${a.id} (${jsonPath}): ${problem} Refusing to package it; export the model again.`, { file: jsonPath });
  };
  if (!jst.isFile()) bad('model.json is not a regular file.');
  if (jst.size > MAX_MODEL_JSON) bad(`model.json is ${jst.size} bytes, far more than a model description.`);
  let doc: { weightsManifest?: { paths?: unknown }[] };
  try {
    doc = JSON.parse(fs.readFileSync(jsonPath, 'utf8')) as typeof doc;
  } catch (err) {
    return bad(`model.json is not valid JSON (${(err as Error).message}).`);
  }
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.weightsManifest)) return bad('model.json has no "weightsManifest", so its weight files are unknown.');
  const files: ModelFolderFile[] = [{ name: path.basename(jsonPath), path: jsonPath, bytes: jst.size, mtime: jst.mtime }];
  const seen = new Set(files.map((f) => f.name));
  for (const group of doc.weightsManifest) {
    if (!group || !Array.isArray(group.paths)) bad('a "weightsManifest" entry has no "paths".');
    for (const rel of group.paths as unknown[]) {
      if (typeof rel !== 'string' || !rel || rel.length > 255) return bad(`the weight path ${JSON.stringify(rel)} is not a file name.`);
      const full = path.resolve(dir, rel);
      const inside = path.relative(dir, full);
      if (path.isAbsolute(rel) || !inside || inside.startsWith('..') || path.isAbsolute(inside)) bad(`the weight file "${rel}" lies outside the model's folder.`);
      const name = inside.split(path.sep).join('/');
      if (seen.has(name)) continue;
      seen.add(name);
      const wst = statOrMissing(a, full);
      if (!wst.isFile()) bad(`the weight file "${rel}" is not a regular file (a link or a folder).`);
      files.push({ name, path: full, bytes: wst.size, mtime: wst.mtime });
    }
  }
  const bytes = files.reduce((s, f) => s + f.bytes, 0);
  if (bytes > MAX_DOWNLOAD) tooLarge(a, bytes, dir);
  return { dir, files, bytes };
}

/**
 * A TF.js model folder as one .zip (fflate: a maintained zip writer rather than our own), the files
 * inside a folder named like the download, so unpacking gives a folder tfjs can load as is.
 * Weights are stored deflated: pruned weights are mostly zeros and shrink well.
 */
export function zipModelFolder(a: ArtifactRow): { filename: string; data: Uint8Array; files: string[] } {
  const { files } = modelFolderFiles(a);
  const folder = downloadName({ ...a, path: '' });
  const entries: Zippable = {};
  for (const f of files) entries[`${folder}/${f.name}`] = [fs.readFileSync(f.path), { mtime: f.mtime }];
  return { filename: `${folder}.zip`, data: zipSync(entries, { level: 6 }), files: files.map((f) => f.name) };
}

const isModelFolder = (a: ArtifactRow) => a.format === 'tfjs-layers';

/** A download name that says what the file is: the artifact's name, made safe, with its extension. */
export function downloadName(a: { id: number; name: string; path: string }): string {
  const ext = path.extname(a.path) || '';
  const base = a.name.replace(/\.tflite$/i, '').replace(/[^\w.-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 80) || `artifact-${a.id}`;
  return `${base}-${a.id}${ext}`;
}

/**
 * The artifact's bytes for a browser download (the WebSocket is the authenticated channel): a
 * .tflite as it is, a TF.js model folder as one .zip.
 */
export function readArtifactFile(a: ArtifactRow): { filename: string; base64: string; bytes: number; path: string } {
  if (isModelFolder(a)) {
    const z = zipModelFolder(a);
    return { filename: z.filename, base64: Buffer.from(z.data.buffer, z.data.byteOffset, z.data.byteLength).toString('base64'), bytes: z.data.byteLength, path: a.path };
  }
  const data = fs.readFileSync(artifactFile(a));
  return { filename: downloadName(a), base64: data.toString('base64'), bytes: data.length, path: a.path };
}

/** Copies the file (or writes the model folder's .zip) where the user chose in the save dialog. */
export function saveArtifactFile(a: ArtifactRow, dest: string): { path: string; bytes: number } {
  if (!path.isAbsolute(dest)) throw new AppError('INVALID_ARGS', `Give a full path to save to; got ${JSON.stringify(dest)}.`);
  if (isModelFolder(a)) fs.writeFileSync(dest, zipModelFolder(a).data);
  else fs.copyFileSync(artifactFile(a), dest);
  return { path: dest, bytes: fs.statSync(dest).size };
}
