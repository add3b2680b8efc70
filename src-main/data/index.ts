/**
 * Datasets: built-in Fashion-MNIST (IDX files), image folders (one subfolder per class) and CSV
 * tables, split into seeded, stratified train/validation/test sets.
 *
 * A loaded dataset, as the training code consumes it:
 *
 *   const ds = await loadDataset({ kind: 'fashion-mnist' }, { seed: 1, labeledCount: 3000 });
 *   ds.info       // DatasetInfo: name, kind, classes, counts, inputShape, contentHash,
 *                 //   standardization (CSV), how it was split
 *   ds.train      // Split<'train'>: { role, x: Float32Array, y: Int32Array, n, sampleShape, labeledMask? }
 *   ds.val        // Split<'val'>   (model selection, early stopping, choosing T and alpha)
 *   ds.test       // Split<'test'>  (final evaluation only)
 *
 * - `x` holds `n * prod(sampleShape)` float32 values, row-major: images NHWC in [0, 1]
 *   (Fashion-MNIST sampleShape [28, 28, 1]); tables [n, features], standardized with mean/std
 *   fitted on the training split (`info.standardization`, to apply again at inference/export).
 * - `y` holds class indices into `info.classes`. With `labeledCount`, the train split carries
 *   `labeledMask` (1 = labeled) and hidden labels are `UNLABELED` (-1) in `y`.
 * - Splits: Fashion-MNIST test = the official t10k set, validation = `valFraction` (0.1) of the
 *   official training images. User datasets: 80/10/10 of all samples. All stratified by class and
 *   seeded; each split's order is shuffled once (seeded).
 *
 * Keeping the test split out of training: pass `trainingView(ds)` (type `TrainingData`, no test
 * split) to training, distillation, temperature sweeps and calibration. `calibrationSample`,
 * `withLabeledCount` and `labeledOnly` accept only `Split<'train'>`, checked by the compiler (the
 * `role` field is a literal type) and again at run time.
 *
 * Image splits keep uint8 pixels (`split.images`) and build each model's input per batch, resized and
 * normalized to its view (`splitBatch`, `withView` in image-view.ts; those need the compute backend).
 * Everything else is plain typed arrays.
 */
export type {
  CalibrationSample,
  ClassPreview,
  DatasetInfo,
  DatasetKind,
  DatasetPreview,
  DatasetSource,
  ImagePixels,
  ImageView,
  LoadedDataset,
  LoadOptions,
  Split,
  SplitOptions,
  SplitRole,
  Standardization,
  TestSplit,
  TrainingData,
  TrainSplit,
  ValSplit,
} from './types';
export { UNLABELED } from './types';
export { loadDataset, previewDataset, recordDataset, resolveDatasetSource } from './load';
export { calibrationSample, labeledOnly, stratifiedPartition, stratifiedSample, subset, trainingView, withLabeledCount } from './splits';
export { DEFAULT_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, fashionMnistDir, findFashionMnistFiles, readFashionMnist } from './fashion-mnist';
export {
  ensureFashionMnist,
  FASHION_MNIST_FILES,
  FASHION_MNIST_TRAIN_COUNT,
  type EnsureOptions,
  type FashionMnistProgress,
} from './fashion-mnist-download';
export { applyStandardization, csvColumns, suggestLabelColumn } from './csv';
export { parseIdx, readIdxFile, type IdxArray } from './idx';
export { imageBatch, splitBatch, splitRows, withView } from './image-view';
