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
