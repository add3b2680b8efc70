/**
 * Built-in Fashion-MNIST, read from its four IDX files (Debian: `dataset-fashion-mnist`, the
 * installer's bundled copy, a first-use download, or any folder holding them, gzipped or not;
 * fashion-mnist-download.ts finds and fetches them). Pixels stay uint8 until a split is gathered, so the full
 * set needs one float32 copy (~220 MB), not two.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../src-shared/errors';
import { DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_MANUAL_ROUTE, fashionMnistFileNames, fashionMnistSearchDirs, hasFashionMnist } from './fashion-mnist-download';
import { ContentHasher } from './hash';
import { readIdxFile, readMaybeGzip, parseIdx } from './idx';
import { deriveSeed } from './rng';
import { gatherSplit, indicesByClass, stratifiedPartition, stratifiedSample, withLabeledCount } from './splits';
import { rawToPngDataUrl } from './thumbnails';
import type { DatasetInfo, DatasetPreview, LoadedDataset, LoadOptions } from './types';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

export const DEFAULT_FASHION_MNIST_DIR = DEBIAN_FASHION_MNIST_DIR;

/**
 * The folder the files are read from: `dir` when given (the user chose it), else the first of
 * `fashionMnistSearchDirs` that holds them (`POCKETBENCH_FASHION_MNIST_DIR`, Debian's package,
 * the installer's bundled copy, the app data folder's download), else the first of those.
 */
export function fashionMnistDir(dir?: string, dataDir?: string): string {
  if (dir) return path.resolve(dir);
  const dirs = fashionMnistSearchDirs(dataDir);
  return dirs.find(hasFashionMnist) ?? dirs[0];
}

const PARTS = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

type Part = keyof typeof PARTS;

export function findFashionMnistFiles(dir?: string, dataDir?: string): Record<Part, string> {
  const root = fashionMnistDir(dir, dataDir);
  const found: Partial<Record<Part, string>> = {};
  const missing: string[] = [];
  for (const [part, base] of Object.entries(PARTS) as [Part, string][]) {
    const hit = fashionMnistFileNames(base).map((n) => path.join(root, n)).find((f) => fs.existsSync(f));
    if (hit) found[part] = hit;
    else missing.push(`${base}.gz`);
  }
  if (missing.length) {
    const where = fs.existsSync(root) ? `${root} does not contain ${missing.join(', ')}` : `the folder ${root} does not exist`;
    const looked = dir ? '' : ` (looked in ${fashionMnistSearchDirs(dataDir).join(', ')}; PocketBench downloads it there by itself on first use when this computer is online)`;
    throw new AppError('NOT_FOUND', `Fashion-MNIST was not found: ${where}${looked}. ${FASHION_MNIST_MANUAL_ROUTE}`, { dir: root, missing });
  }
  return found as Record<Part, string>;
}

export interface RawImageSet {
  /** n × height × width uint8, row-major (HWC with one channel). */
  pixels: Uint8Array;
  labels: Uint8Array;
  n: number;
  height: number;
  width: number;
}

export interface RawFashionMnist {
  dir: string;
  train: RawImageSet;
  test: RawImageSet;
  contentHash: string;
}

function readPair(imagesFile: string, labelsFile: string, hasher: ContentHasher, tag: string): RawImageSet {
  const imgBytes = readMaybeGzip(imagesFile);
  const lblBytes = readMaybeGzip(labelsFile);
  hasher.add(`${tag}-images`, imgBytes).add(`${tag}-labels`, lblBytes);
  const images = parseIdx(imgBytes, imagesFile);
  const labels = parseIdx(lblBytes, labelsFile);
  if (images.dtype !== 'uint8' || images.dims.length !== 3) {
    throw new AppError('INVALID_DATA', `${imagesFile} should hold uint8 images (n×height×width) but holds ${images.dtype} values shaped ${images.dims.join('×')}.`, { file: imagesFile });
  }
  if (labels.dtype !== 'uint8' || labels.dims.length !== 1) {
    throw new AppError('INVALID_DATA', `${labelsFile} should hold one uint8 label per image but holds ${labels.dtype} values shaped ${labels.dims.join('×')}.`, { file: labelsFile });
  }
  const [n, height, width] = images.dims;
  if (labels.dims[0] !== n) {
    throw new AppError('INVALID_DATA', `${imagesFile} holds ${n} images but ${labelsFile} holds ${labels.dims[0]} labels; the files do not belong together.`, {
      files: [imagesFile, labelsFile],
    });
  }
  const lbl = labels.data as Uint8Array;
  for (let i = 0; i < n; i++) {
    if (lbl[i] >= FASHION_MNIST_CLASSES.length) {
      throw new AppError('INVALID_DATA', `${labelsFile}: label ${lbl[i]} at position ${i} is outside 0-9; this is not a Fashion-MNIST label file.`, { file: labelsFile, index: i });
    }
  }
  return { pixels: images.data as Uint8Array, labels: lbl, n, height, width };
}

/** The four files, validated, still uint8. */
export function readFashionMnist(dir?: string): RawFashionMnist {
  const files = findFashionMnistFiles(dir);
  const hasher = new ContentHasher();
  const train = readPair(files.trainImages, files.trainLabels, hasher, 'train');
  const test = readPair(files.testImages, files.testLabels, hasher, 'test');
  if (train.height !== test.height || train.width !== test.width) {
    throw new AppError('INVALID_DATA', `The training images are ${train.height}×${train.width} but the test images are ${test.height}×${test.width}.`, { dir: fashionMnistDir(dir) });
  }
  return { dir: fashionMnistDir(dir), train, test, contentHash: hasher.hex() };
}

function countClasses(...labelSets: Uint8Array[]): number[] {
  const counts = new Array<number>(FASHION_MNIST_CLASSES.length).fill(0);
  for (const set of labelSets) for (const l of set) counts[l]++;
  return counts;
}

/**
 * Test = the official t10k set; validation carved (stratified, seeded) from the official training
 * images, so model selection never sees the test images.
 */
export function loadFashionMnist(dir: string | undefined, opts: LoadOptions = {}): LoadedDataset {
  const seed = opts.seed ?? 0;
  const valFraction = opts.valFraction ?? 0.1;
  if (!(valFraction > 0 && valFraction < 1)) throw new AppError('INVALID_ARGS', `valFraction must be between 0 and 1 (got ${valFraction}).`);
  const raw = readFashionMnist(dir);
  const numClasses = FASHION_MNIST_CLASSES.length;
  const sampleShape = [raw.train.height, raw.train.width, 1];

  let pool: ArrayLike<number> = Int32Array.from({ length: raw.train.n }, (_, i) => i);
  if (opts.limit?.train && opts.limit.train < raw.train.n) pool = stratifiedSample(raw.train.labels, numClasses, opts.limit.train, deriveSeed(seed, 'limit-train'));
  const poolLabels = Int32Array.from(pool, (i) => raw.train.labels[i]);
  const [valLocal, trainLocal] = stratifiedPartition(poolLabels, numClasses, [valFraction], deriveSeed(seed, 'val'));
  const trainIdx = trainLocal.map((i) => pool[i]);
  const valIdx = valLocal.map((i) => pool[i]);
  let testIdx: ArrayLike<number> = Int32Array.from({ length: raw.test.n }, (_, i) => i);
  if (opts.limit?.test && opts.limit.test < raw.test.n) testIdx = stratifiedSample(raw.test.labels, numClasses, opts.limit.test, deriveSeed(seed, 'limit-test'));

  const trainSrc = { x: raw.train.pixels, y: raw.train.labels, sampleShape };
  let train = gatherSplit('train', trainSrc, trainIdx);
  const val = gatherSplit('val', trainSrc, valIdx);
  const test = gatherSplit('test', { x: raw.test.pixels, y: raw.test.labels, sampleShape }, testIdx);
  if (opts.labeledCount !== undefined && opts.labeledCount < train.n) {
    train = withLabeledCount(train, numClasses, opts.labeledCount, deriveSeed(seed, 'labeled'));
  }

  const info: DatasetInfo = {
    name: opts.name ?? 'Fashion-MNIST',
    kind: 'fashion-mnist',
    source: raw.dir,
    contentHash: raw.contentHash,
    modality: 'image',
    classes: [...FASHION_MNIST_CLASSES],
    counts: countClasses(raw.train.labels, raw.test.labels),
    inputShape: sampleShape,
    split: { seed, train: train.n, val: val.n, test: test.n, ...(train.labeledMask ? { labeled: opts.labeledCount } : {}) },
  };
  return { info, train, val, test };
}

export async function previewFashionMnist(dir?: string, samplesPerClass = 4): Promise<DatasetPreview> {
  const files = findFashionMnistFiles(dir);
  const train = readIdxFile(files.trainImages);
  const trainLabels = readIdxFile(files.trainLabels).data as Uint8Array;
  const testLabels = readIdxFile(files.testLabels).data as Uint8Array;
  const [, height, width] = train.dims;
  const size = height * width;
  const counts = countClasses(trainLabels, testLabels);
  const byClass = indicesByClass(trainLabels, FASHION_MNIST_CLASSES.length);
  const classes = await Promise.all(
    FASHION_MNIST_CLASSES.map(async (name, c) => ({
      name,
      count: counts[c],
      samples: await Promise.all(
        byClass[c].slice(0, samplesPerClass).map((i) => rawToPngDataUrl((train.data as Uint8Array).subarray(i * size, (i + 1) * size), width, height, 1)),
      ),
    })),
  );
  return {
    kind: 'fashion-mnist',
    source: fashionMnistDir(dir),
    modality: 'image',
    classes,
    total: counts.reduce((a, b) => a + b, 0),
    inputShape: [height, width, 1],
    imageSizes: [{ width, height, count: counts.reduce((a, b) => a + b, 0), example: files.trainImages }],
    warnings: [],
  };
}
