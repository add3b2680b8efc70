/** Upload browser files to the backend through the contract, in chunks, keeping folder structure. */
import type { Api } from './api.svelte';

const CHUNK = 4 * 1024 * 1024;

function toBase64(buf: ArrayBuffer): string {
  const bytes = new Uint8Array(buf);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function newUploadId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Uploads `files` under one upload id. Returns the path of the single file, or of the folder that
 * holds them (for a folder upload: the folder the user picked).
 */
export async function uploadFiles(api: Api, files: File[], onProgress?: (done: number, total: number) => void): Promise<string> {
  const uploadId = newUploadId();
  const total = files.reduce((s, f) => s + f.size, 0);
  let done = 0;
  let lastPath = '';
  for (const f of files) {
    const rel = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    for (let off = 0; off < Math.max(f.size, 1); off += CHUNK) {
      const chunk = await f.slice(off, off + CHUNK).arrayBuffer();
      const r = await api.call('files.upload', { uploadId, relativePath: rel, base64: toBase64(chunk), append: off > 0 });
      lastPath = r.path;
      done += chunk.byteLength;
      onProgress?.(done, total);
    }
  }
  const first = files[0] as File & { webkitRelativePath?: string };
  if (files.length === 1 && !first.webkitRelativePath) return lastPath;
  // Folder upload: every file shares the top folder name; return that folder.
  const top = (first.webkitRelativePath || first.name).split('/')[0];
  const idx = lastPath.lastIndexOf(`/${uploadId}/`);
  return idx >= 0 ? `${lastPath.slice(0, idx)}/${uploadId}/${top}` : lastPath;
}
