/**
 * Class names beside a model: `labels.txt` (one per line; Teachable Machine writes `0 Rock`,
 * `1 Paper`…, whose index is stripped) and Teachable Machine's TF.js `metadata.json`
 * (`labels`, `imageSize`, `tmVersion`, `packageName`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../../src-shared/errors';

/** Labels files and metadata are tiny; anything larger is not one. */
const MAX_SIDE_FILE_BYTES = 4 << 20;

export interface TeachableMetadata {
  labels: string[] | null;
  imageSize: number | null;
  /** Written by Teachable Machine (tmVersion or an @teachablemachine package). */
  teachableMachine: boolean;
  file: string;
}

function readSmall(file: string): string | null {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) return null;
  if (fs.statSync(file).size > MAX_SIDE_FILE_BYTES) throw new AppError('INVALID_MODEL', `${file} is ${fs.statSync(file).size} bytes, too large for a labels or metadata file.`, { file });
  return fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
}

/**
 * Parse a labels file. The `INDEX NAME` form is recognised only when every line starts with its
 * own line number, so a class really called "7 Up" elsewhere in a plain list keeps its name.
 */
export function parseLabels(text: string): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  const indexed = lines.length > 0 && lines.every((l, i) => new RegExp(`^${i}(\\s+|:\\s*)\\S`).test(l));
  return indexed ? lines.map((l) => l.replace(/^\d+(\s+|:\s*)/, '')) : lines;
}

/** `labels.txt` beside `modelFile` (or in the folder), if there is one. */
export function labelsBeside(modelFile: string): { labels: string[]; file: string } | null {
  const dir = fs.statSync(modelFile).isDirectory() ? modelFile : path.dirname(modelFile);
  const file = path.join(dir, 'labels.txt');
  const text = readSmall(file);
  if (text === null) return null;
  const labels = parseLabels(text);
  if (!labels.length) return null;
  return { labels, file };
}

/** Teachable Machine's TF.js `metadata.json` beside a model.json, if there is one. */
export function teachableMetadataBeside(modelJson: string): TeachableMetadata | null {
  const file = path.join(path.dirname(modelJson), 'metadata.json');
  const text = readSmall(file);
  if (text === null) return null;
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  const labels = Array.isArray(doc.labels) && doc.labels.every((l) => typeof l === 'string') ? (doc.labels as string[]) : null;
  const imageSize = typeof doc.imageSize === 'number' && doc.imageSize > 0 ? doc.imageSize : null;
  const teachableMachine = typeof doc.tmVersion === 'string' || String(doc.packageName ?? '').startsWith('@teachablemachine/');
  return { labels, imageSize, teachableMachine, file };
}
