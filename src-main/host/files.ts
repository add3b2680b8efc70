/** File handlers shared by both transports: checking typed paths, receiving uploads, removing artifacts. */
import fs from 'node:fs';
import path from 'node:path';
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

function artifactFile(a: { id: number; name: string; path: string; format: string }): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(a.path);
  } catch {
    throw new AppError('NOT_FOUND', `The file of artifact #${a.id} is missing (${a.path}); it was moved or deleted outside PocketBench. Export the model again.`);
  }
  if (!st.isFile()) throw new AppError('UNSUPPORTED', `Artifact #${a.id} is a ${a.format} model folder, not one file; export it to .tflite to download it.`);
  if (st.size > MAX_DOWNLOAD) throw new AppError('UNSUPPORTED', `Artifact #${a.id} is ${st.size} bytes, over the 256 MB download limit; copy it from ${a.path} instead.`);
  return a.path;
}

/** A download name that says what the file is: the artifact's name, made safe, with its extension. */
export function downloadName(a: { id: number; name: string; path: string }): string {
  const ext = path.extname(a.path) || '';
  const base = a.name.replace(/\.tflite$/i, '').replace(/[^\w.-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 80) || `artifact-${a.id}`;
  return `${base}-${a.id}${ext}`;
}

/** The file's bytes for a browser download (the WebSocket is the authenticated channel). */
export function readArtifactFile(a: { id: number; name: string; path: string; format: string }): { filename: string; base64: string; bytes: number; path: string } {
  const data = fs.readFileSync(artifactFile(a));
  return { filename: downloadName(a), base64: data.toString('base64'), bytes: data.length, path: a.path };
}

/** Copies the file where the user chose in the save dialog. */
export function saveArtifactFile(a: { id: number; name: string; path: string; format: string }, dest: string): { path: string; bytes: number } {
  if (!path.isAbsolute(dest)) throw new AppError('INVALID_ARGS', `Give a full path to save to; got ${JSON.stringify(dest)}.`);
  const src = artifactFile(a);
  fs.copyFileSync(src, dest);
  return { path: dest, bytes: fs.statSync(dest).size };
}
