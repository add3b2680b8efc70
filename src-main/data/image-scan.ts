/**
 * Finding the images of an image-folder dataset (one subfolder per class) and reading their
 * headers: sizes and colour, so the target shape can be chosen from the data before decoding.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { AppError } from '../../src-shared/errors';
import { ContentHasher } from './hash';

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

export interface ScannedClass {
  name: string;
  /** Absolute paths, sorted. */
  files: string[];
}

export interface FolderScan {
  dir: string;
  classes: ScannedClass[];
  /** Files in class folders that are not PNG/JPEG (relative paths). */
  skipped: string[];
}

const hidden = (name: string) => name.startsWith('.') || name === 'Thumbs.db' || name === 'desktop.ini';

function listFilesRecursive(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (hidden(e.name)) continue;
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFilesRecursive(full));
    else if (e.isFile()) out.push(full);
  }
  return out;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Class = subfolder name (sorted, as Keras' image_dataset_from_directory does); images found recursively. */
export function scanImageFolder(dir: string): FolderScan {
  const root = path.resolve(dir);
  if (!fs.existsSync(root)) throw new AppError('NOT_FOUND', `The image folder ${root} does not exist.`, { dir: root });
  if (!fs.statSync(root).isDirectory()) throw new AppError('INVALID_DATA', `${root} is a file; choose the folder that holds one subfolder per class.`, { dir: root });
  const entries = fs.readdirSync(root, { withFileTypes: true }).filter((e) => !hidden(e.name));
  const subdirs = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort(byName);
  if (subdirs.length === 0) {
    const topImages = entries.filter((e) => e.isFile() && IMAGE_EXT.has(path.extname(e.name).toLowerCase())).length;
    throw new AppError(
      'INVALID_DATA',
      `${root} has no class subfolders${topImages ? ` (it holds ${topImages} images directly)` : ''}. Put the images of each class in its own subfolder, named after the class (e.g. ${path.join(root, 'cat')}, ${path.join(root, 'dog')}).`,
      { dir: root },
    );
  }
  if (subdirs.length === 1) {
    throw new AppError('INVALID_DATA', `${root} has only one class subfolder (${subdirs[0]}); a classifier needs at least two classes.`, { dir: root });
  }
  const skipped: string[] = [];
  const classes = subdirs.map((name) => {
    const classDir = path.join(root, name);
    const all = listFilesRecursive(classDir).sort(byName);
    const files = all.filter((f) => IMAGE_EXT.has(path.extname(f).toLowerCase()));
    for (const f of all) if (!files.includes(f)) skipped.push(path.relative(root, f));
    if (files.length === 0) {
      throw new AppError(
        'INVALID_DATA',
        `The class folder ${classDir} has no PNG or JPEG images${all.length ? ` (it holds ${all.length} other files, e.g. ${path.basename(all[0])})` : ''}. Add images or remove the folder.`,
        { dir: classDir, class: name },
      );
    }
    return { name, files };
  });
  return { dir: root, classes, skipped };
}

/** The name of the one pseudo-class an unlabelled folder is scanned into. */
export const UNLABELED_CLASS = '(unlabelled)';

/**
 * A folder of images without labels: every PNG/JPEG in it and its subfolders (subfolder names are
 * not read as classes), as one pseudo-class. At least 10 images, so validation and test get some.
 */
export function scanUnlabeledFolder(dir: string): FolderScan {
  const root = path.resolve(dir);
  if (!fs.existsSync(root)) throw new AppError('NOT_FOUND', `The image folder ${root} does not exist.`, { dir: root });
  if (!fs.statSync(root).isDirectory()) throw new AppError('INVALID_DATA', `${root} is a file; choose the folder that holds the images.`, { dir: root });
  const all = listFilesRecursive(root).sort(byName);
  const files = all.filter((f) => IMAGE_EXT.has(path.extname(f).toLowerCase()));
  if (files.length < 10) {
    throw new AppError('INVALID_DATA', `${root} holds ${files.length} PNG or JPEG image${files.length === 1 ? '' : 's'}; distilling without labels needs at least 10 (a few hundred give a useful student).`, { dir: root, images: files.length });
  }
  return { dir: root, classes: [{ name: UNLABELED_CLASS, files }], skipped: all.filter((f) => !files.includes(f)).map((f) => path.relative(root, f)) };
}

export interface ImageHeader {
  file: string;
  /** After EXIF orientation. */
  width: number;
  height: number;
  color: boolean;
}

export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export function unreadable(file: string, err: unknown): AppError {
  const why = String((err as Error)?.message ?? err).split('\n')[0];
  return new AppError('INVALID_DATA', `Cannot read the image ${file} (${why}). Replace or delete the file and try again.`, { file });
}

/** Header of one image; a damaged file fails here, naming the file. */
export async function readHeader(file: string, bytes: Buffer): Promise<ImageHeader> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (err) {
    throw unreadable(file, err);
  }
  if (meta.format !== 'png' && meta.format !== 'jpeg') throw unreadable(file, new Error(`it is ${meta.format ?? 'an unknown format'}, not PNG or JPEG`));
  const color = !(meta.space === 'b-w' || meta.space === 'grey16' || meta.channels === 1 || meta.channels === 2);
  return { file, width: meta.autoOrient?.width ?? meta.width, height: meta.autoOrient?.height ?? meta.height, color };
}

/** Headers of every image, in scan order. */
export async function readHeaders(scan: FolderScan): Promise<ImageHeader[]> {
  const files = scan.classes.flatMap((c) => c.files);
  return mapLimit(files, 8, async (file) => readHeader(file, await fs.promises.readFile(file)));
}

/**
 * SHA-256 over (class, relative path, file digest) in scan order: the same files under the same
 * class names give the same hash, wherever the folder is.
 */
export async function hashFolder(scan: FolderScan): Promise<string> {
  const flat = scan.classes.flatMap((c) => c.files.map((file) => ({ cls: c.name, file })));
  const digests = await mapLimit(flat, 8, async ({ file }) => createHash('sha256').update(await fs.promises.readFile(file)).digest());
  const hasher = new ContentHasher();
  flat.forEach(({ cls, file }, i) => hasher.add(`${cls}/${path.relative(scan.dir, file).split(path.sep).join('/')}`, digests[i]));
  return hasher.hex();
}

/**
 * Whether the dataset needs RGB. Many grayscale datasets are saved as RGB files, so a colour header
 * is checked against the pixels (a 16×16 reduction, channels within JPEG noise). Stops at the
 * first truly colourful image, so colour datasets pay for one extra decode.
 */
export async function needsColour(headers: ImageHeader[]): Promise<boolean> {
  for (const h of headers) {
    if (!h.color) continue;
    let data: Buffer;
    try {
      data = await sharp(h.file).resize(16, 16, { fit: 'fill' }).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer();
    } catch (err) {
      throw unreadable(h.file, err);
    }
    for (let p = 0; p + 2 < data.length; p += 3) {
      if (Math.abs(data[p] - data[p + 1]) > 8 || Math.abs(data[p + 1] - data[p + 2]) > 8) return true;
    }
  }
  return false;
}

export interface SizeGroup {
  width: number;
  height: number;
  count: number;
  example: string;
}

/** Distinct sizes, most common first. */
export function sizeGroups(headers: ImageHeader[]): SizeGroup[] {
  const groups = new Map<string, SizeGroup>();
  for (const h of headers) {
    const key = `${h.width}x${h.height}`;
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { width: h.width, height: h.height, count: 1, example: h.file });
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.width * a.height - b.width * b.height);
}

export function describeSizes(groups: SizeGroup[], root: string, max = 5): string {
  const shown = groups.slice(0, max).map((g) => `${g.width}×${g.height} (${g.count} image${g.count === 1 ? '' : 's'}, e.g. ${path.relative(root, g.example)})`);
  return shown.join(', ') + (groups.length > max ? ` and ${groups.length - max} more sizes` : '');
}
