/**
 * Shapes shared by every dataset source. Plain typed arrays, no tensors: the training code decides
 * when to upload (and can batch straight from these arrays without copying the whole set).
 */

/** Where a dataset comes from. `dir`/`file` are absolute paths on this machine. */
export type DatasetSource =
  | { kind: 'fashion-mnist'; dir?: string }
  | {
      kind: 'image-folder';
      dir: string;
      /** [height, width] every image is resized to; default: the images' own size (must then all match). */
      size?: [number, number];
      /** 1 = grayscale, 3 = RGB; default: 1 when every image is grayscale, else 3. */
      channels?: 1 | 3;
      /**
       * [height, width] the pixels are decoded to and kept at (uint8); default `size`. Each model's
       * batches are resized from these on the fly (bilinear): decode at the largest model's size
       * (an imported 224-px teacher) and train a smaller student (`size`) from the same pixels.
       */
      decodeSize?: [number, number];
      /** How the run's models see a pixel: (raw 0–255 − mean) / std; default mean 0, std 255 ([0, 1]). */
      normalization?: { mean: number[]; std: number[] };
      /**
       * The images carry no labels (a plain folder of images, subfolders are not classes): every
       * image is unlabelled; the classes and held-out targets come from a teacher (fidelity).
       */
      unlabeled?: boolean;
    }
  | {
      kind: 'csv';
      file: string;
      labelColumn: string;
      /** Columns that are neither features nor the label (ids, free text). */
      ignoreColumns?: string[];
      /** Fix the class order (otherwise sorted: numerically for integer labels, else alphabetically). */
      classes?: string[];
      /** Default: guessed from the header line among `,`, `;` and tab. */
      delimiter?: string;
    };

export type DatasetKind = DatasetSource['kind'];

/** Mean and standard deviation per feature, fitted on the training split only. */
export interface Standardization {
  mean: number[];
  std: number[];
}

export interface DatasetInfo {
  name: string;
  kind: DatasetKind;
  /** Folder or file the data was read from. */
  source: string;
  /** SHA-256 (hex) of the source content; same data -> same hash, whatever the file names or compression. */
  contentHash: string;
  modality: 'image' | 'tabular';
  classes: string[];
  /** Samples per class over the whole dataset (all splits). */
  counts: number[];
  /** One sample's shape: [height, width, channels] for images, [features] for tables. */
  inputShape: number[];
  /** Tabular only: the feature columns, in order. */
  featureNames?: string[];
  /** Tabular only: apply `(x - mean) / std` at inference and export, exactly as the splits were. */
  standardization?: Standardization;
  /** Image folders: the resolution the pixels are kept at and the run's input normalization. */
  image?: { decodeSize: [number, number]; normalization: { mean: number[]; std: number[] } };
  /**
   * `teacher`: the folder had no labels; validation/test targets are a teacher's top-1 predictions
   * (set by the run, compress/train/run-data.ts), so an "accuracy" on them is the fidelity to that
   * teacher, and is reported as such. Absent: real labels.
   */
  targets?: 'labels' | 'teacher';
  /** How the splits were drawn, so a run can record and repeat it. */
  split: { seed: number; train: number; val: number; test: number; labeled?: number };
}

export type SplitRole = 'train' | 'val' | 'test' | 'calibration';

/** The size and normalization one model sees images at: input = (raw 0–255 − mean) / std, resized. */
export interface ImageView {
  size: [number, number];
  normalization: { mean: number[]; std: number[] };
}

/** The uint8 pixels behind an image split (n × shape, HWC) and the view its `x` presents. */
export interface ImagePixels {
  pixels: Uint8Array;
  /** [height, width, channels] of the stored pixels. */
  shape: [number, number, number];
  view: ImageView;
}

/**
 * One split. `role` is a literal type, so a `Split<'test'>` does not type-check where a
 * `Split<'train'>` is required: the test split cannot be passed to training, calibration or
 * model-selection code by mistake (and those helpers also check the role at run time).
 */
export interface Split<R extends SplitRole = SplitRole> {
  readonly role: R;
  /**
   * n * prod(sampleShape) float32 values: images NHWC in the view's normalization ([0, 1] unless the
   * dataset says otherwise), tables standardized. On image splits this is built on first read and
   * kept; batch code reads `images` through `splitBatch`/`splitRows` (data/image-view.ts) instead.
   */
  x: Float32Array;
  /** Image splits: the uint8 pixels and the view (size, normalization) that `x` and `sampleShape` show. */
  images?: ImagePixels;
  /** n class indices; `UNLABELED` (-1) where the label is hidden (semi-supervised, train only). */
  y: Int32Array;
  n: number;
  sampleShape: number[];
  /**
   * Train split only, when a labeled count was asked for: 1 = label kept, 0 = hidden. Hidden
   * labels are also set to `UNLABELED` in `y`, so code that ignores the mask cannot leak them.
   */
  labeledMask?: Uint8Array;
}

export const UNLABELED = -1;

export type TrainSplit = Split<'train'>;
export type ValSplit = Split<'val'>;
export type TestSplit = Split<'test'>;
export type CalibrationSample = Split<'calibration'>;

/**
 * What training, distillation, calibration and model selection get: no test split at all.
 * Obtain it with `trainingView(loaded)`.
 */
export interface TrainingData {
  info: DatasetInfo;
  train: TrainSplit;
  val: ValSplit;
}

/** A loaded dataset. Only final evaluation should touch `test`. */
export interface LoadedDataset extends TrainingData {
  test: TestSplit;
}

export interface SplitOptions {
  /** Seed for every random choice (splits, labeled subset). Default 0. */
  seed?: number;
  /** Share of the training images held out for validation. Default 0.1. */
  valFraction?: number;
  /** User datasets only (Fashion-MNIST has an official test set). Default 0.1. */
  testFraction?: number;
  /** Keep labels for only this many training samples (stratified, seeded); the rest are unlabeled. */
  labeledCount?: number;
  /**
   * Use only this many samples (stratified, seeded) before splitting; for quick runs and tests.
   * For Fashion-MNIST `train` limits the official training set and `test` the official test set.
   */
  limit?: { train?: number; test?: number };
}

export interface LoadOptions extends SplitOptions {
  /** Folder for decoded image-folder datasets (keyed by content hash and decode options). */
  cacheDir?: string;
  /** Display name; default derived from the source. */
  name?: string;
}

export type { ClassPreview, DatasetPreview } from '../../src-shared/engine-types';
