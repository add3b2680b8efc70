/**
 * Image-folder datasets: one subfolder per class, PNG/JPEG, decoded and resized with sharp (libvips:
 * fast, well kept, handles EXIF orientation and colour spaces). Pixels are decoded once into one
 * uint8 buffer (HWC per image) and optionally cached by content hash, since decoding dominates.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp, { type OutputInfo } from 'sharp';
import { AppError } from '../../src-shared/errors';
import { readPixelCache, writePixelCache } from './image-cache';
import { UNIT_RANGE_NORMALIZATION } from '../../src-shared/model-io';
import { type FolderScan, type ImageHeader, describeSizes, hashFolder, mapLimit, needsColour, readHeaders, scanImageFolder, scanUnlabeledFolder, sizeGroups, unreadable } from './image-scan';
import { fileToPngDataUrl } from './thumbnails';
import { splitUserDataset } from './user-splits';
import { type DatasetInfo, type DatasetPreview, type DatasetSource, type ImageView, type LoadedDataset, type LoadOptions, UNLABELED } from './types';

type ImageFolderSource = Extract<DatasetSource, { kind: 'image-folder' }>;

export interface ImageShape {
  height: number;
  width: number;
  channels: 1 | 3;
}

/** Target shape: the given one, else the images' own size (which must then be the same for all). */
export async function chooseShape(source: ImageFolderSource, headers: ImageHeader[], root: string): Promise<ImageShape> {
  if (source.channels !== undefined && source.channels !== 1 && source.channels !== 3) {
    throw new AppError('INVALID_ARGS', `Images can have 1 (grayscale) or 3 (RGB) channels, not ${source.channels}.`);
  }
  const channels = source.channels ?? ((await needsColour(headers)) ? 3 : 1);
  if (source.size) {
    const [height, width] = source.size;
    if (!(Number.isInteger(height) && Number.isInteger(width) && height >= 1 && width >= 1 && height <= 1024 && width <= 1024)) {
      throw new AppError('INVALID_ARGS', `The image size must be two whole numbers between 1 and 1024 (got ${source.size.join('×')}).`);
    }
    return { height, width, channels };
  }
  const groups = sizeGroups(headers);
  if (groups.length > 1) {
    const common = groups[0];
    throw new AppError(
      'INVALID_DATA',
      `The images in ${root} have different sizes: ${describeSizes(groups, root)}. Choose a size to resize them all to (for example ${common.width}×${common.height}, the most common one).`,
      { dir: root, sizes: groups.map(({ width, height, count, example }) => ({ width, height, count, example })), suggestedSize: [common.height, common.width] },
    );
  }
  return { height: groups[0].height, width: groups[0].width, channels };
}

async function decodeInto(out: Uint8Array, offset: number, file: string, shape: ImageShape): Promise<void> {
  let raw: { data: Buffer; info: OutputInfo };
  try {
    let img = sharp(file).autoOrient().resize(shape.width, shape.height, { fit: 'fill' }).removeAlpha();
    // Dropping alpha (not flattening) matches what Keras/PIL `convert('RGB')` give, so models trained there see the same pixels.
    img = shape.channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
    raw = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw unreadable(file, err);
  }
  const expected = shape.height * shape.width * shape.channels;
  if (raw.data.length !== expected) throw unreadable(file, new Error(`decoded to ${raw.info.channels} channels instead of ${shape.channels}`));
  out.set(raw.data, offset);
}

export interface DecodedFolder {
  scan: FolderScan;
  shape: ImageShape;
  pixels: Uint8Array;
  labels: Int32Array;
  contentHash: string;
  fromCache: boolean;
}

/** Decode (or read from the cache) every image at `decodeSize` (default `size`, else their own size). */
export async function decodeImageFolder(source: ImageFolderSource, cacheDir?: string): Promise<DecodedFolder> {
  const scan = source.unlabeled ? scanUnlabeledFolder(source.dir) : scanImageFolder(source.dir);
  const contentHash = await hashFolder(scan);
  const labels = Int32Array.from(scan.classes.flatMap((c, k) => c.files.map(() => k)));
  const n = labels.length;
  const decodeSize = source.decodeSize ?? source.size;
  const options = `${decodeSize ? decodeSize.join('x') : 'auto'}-${source.channels ?? 'auto'}`;
  const cached = cacheDir ? readPixelCache(cacheDir, contentHash, options, n) : null;
  if (cached) return { scan, shape: cached.shape, pixels: cached.pixels, labels, contentHash, fromCache: true };
  const headers = await readHeaders(scan);
  const shape = await chooseShape({ ...source, size: decodeSize }, headers, scan.dir);
  const size = shape.height * shape.width * shape.channels;
  const pixels = new Uint8Array(n * size);
  await mapLimit(headers, 4, (h, i) => decodeInto(pixels, i * size, h.file, shape));
  if (cacheDir) writePixelCache(cacheDir, contentHash, options, shape, pixels);
  return { scan, shape, pixels, labels, contentHash, fromCache: false };
}

/** The run's view of the pixels: `size` (default: the decoded size) and the normalization (default [0, 1]). */
export function runView(source: ImageFolderSource, decoded: ImageShape): ImageView {
  const normalization = source.normalization ?? { mean: [...UNIT_RANGE_NORMALIZATION.mean], std: [...UNIT_RANGE_NORMALIZATION.std] };
  const { mean, std } = normalization;
  const ok = (v: number[]) => v.length === 1 || v.length === decoded.channels;
  if (!ok(mean) || !ok(std) || ![...mean, ...std].every(Number.isFinite) || std.some((v) => v === 0)) {
    throw new AppError('INVALID_ARGS', `The input normalization (mean ${mean.join(', ')}; std ${std.join(', ')}) needs one value or one per channel (${decoded.channels}), finite, with std ≠ 0.`);
  }
  // A view larger than the decoded pixels is allowed (bilinear upsampling) but adds no detail.
  const size = source.size ?? [decoded.height, decoded.width];
  return { size: [size[0], size[1]], normalization: { mean: [...mean], std: [...std] } };
}

export async function loadImageFolder(source: ImageFolderSource, opts: LoadOptions = {}): Promise<LoadedDataset> {
  const decoded = await decodeImageFolder(source, opts.cacheDir);
  const { scan, shape } = decoded;
  const view = runView(source, shape);
  const pixelShape = [shape.height, shape.width, shape.channels];
  // Unlabelled: one pseudo-class for drawing the splits; every label is hidden afterwards.
  const numClasses = scan.classes.length;
  const { train, val, test } = splitUserDataset({ x: decoded.pixels, y: decoded.labels, sampleShape: pixelShape, view }, numClasses, source.unlabeled ? { ...opts, labeledCount: undefined } : opts);
  if (source.unlabeled) for (const s of [train, val, test]) s.y.fill(UNLABELED);
  const info: DatasetInfo = {
    name: opts.name ?? path.basename(scan.dir),
    kind: 'image-folder',
    source: scan.dir,
    contentHash: decoded.contentHash,
    modality: 'image',
    classes: source.unlabeled ? [] : scan.classes.map((c) => c.name),
    counts: source.unlabeled ? [] : scan.classes.map((c) => c.files.length),
    inputShape: [view.size[0], view.size[1], shape.channels],
    image: { decodeSize: [shape.height, shape.width], normalization: view.normalization },
    ...(source.unlabeled ? { targets: 'teacher' as const } : {}),
    split: { seed: opts.seed ?? 0, train: train.n, val: val.n, test: test.n, ...(train.labeledMask ? { labeled: opts.labeledCount } : {}) },
  };
  return { info, train, val, test };
}

export async function previewImageFolder(source: ImageFolderSource, samplesPerClass = 4): Promise<DatasetPreview> {
  const scan = source.unlabeled ? scanUnlabeledFolder(source.dir) : scanImageFolder(source.dir);
  const headers = await readHeaders(scan);
  const groups = sizeGroups(headers);
  const warnings: string[] = [];
  let inputShape: number[];
  try {
    const s = await chooseShape(source, headers, scan.dir);
    inputShape = [s.height, s.width, s.channels];
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'INVALID_DATA') throw err;
    // Mixed sizes are a choice for the wizard to offer, not a dead end.
    warnings.push(err.message);
    inputShape = [groups[0].height, groups[0].width, source.channels ?? ((await needsColour(headers)) ? 3 : 1)];
  }
  if (scan.skipped.length) {
    warnings.push(`${scan.skipped.length} file(s) that are not PNG or JPEG will be ignored, e.g. ${scan.skipped.slice(0, 3).join(', ')}.`);
  }
  const classes = await Promise.all(
    scan.classes.map(async (c) => ({
      name: c.name,
      count: c.files.length,
      samples: await Promise.all(c.files.slice(0, samplesPerClass).map((f) => fs.promises.readFile(f).then((b) => fileToPngDataUrl(b)))),
    })),
  );
  return {
    kind: 'image-folder',
    source: scan.dir,
    modality: 'image',
    classes,
    total: headers.length,
    inputShape,
    imageSizes: groups,
    warnings,
  };
}
