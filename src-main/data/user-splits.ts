/** Train/validation/test for user datasets (image folders, CSV): seeded and stratified, 80/10/10 by default. */
import { AppError } from '../../src-shared/errors';
import { deriveSeed } from './rng';
import { gatherSplit, stratifiedPartition, stratifiedSample, withLabeledCount } from './splits';
import type { ImageView, SplitOptions, TestSplit, TrainSplit, ValSplit } from './types';

export interface SplitSource {
  x: Uint8Array | Float32Array;
  y: Int32Array;
  sampleShape: number[];
  /** uint8 images: the view every split presents (the pixels stay uint8, data/image-view.ts). */
  view?: ImageView;
}

export function checkFraction(name: string, v: number): void {
  if (!(v > 0 && v < 1)) throw new AppError('INVALID_ARGS', `${name} must be between 0 and 1, exclusive (got ${v}).`);
}

/**
 * `valFraction` and `testFraction` are shares of the whole dataset; `limit.train`, when set, caps
 * the number of samples used before splitting (stratified, seeded).
 */
export function splitUserDataset(src: SplitSource, numClasses: number, opts: SplitOptions): { train: TrainSplit; val: ValSplit; test: TestSplit } {
  const seed = opts.seed ?? 0;
  const valFraction = opts.valFraction ?? 0.1;
  const testFraction = opts.testFraction ?? 0.1;
  checkFraction('valFraction', valFraction);
  checkFraction('testFraction', testFraction);
  if (valFraction + testFraction >= 0.9) {
    throw new AppError('INVALID_ARGS', `Validation (${valFraction}) and test (${testFraction}) together leave less than 10 % of the data for training.`);
  }
  const total = src.y.length;
  let pool: ArrayLike<number> = Int32Array.from({ length: total }, (_, i) => i);
  if (opts.limit?.train && opts.limit.train < total) pool = stratifiedSample(src.y, numClasses, opts.limit.train, deriveSeed(seed, 'limit'));
  const poolLabels = Int32Array.from(pool, (i) => src.y[i]);
  const [testLocal, valLocal, trainLocal] = stratifiedPartition(poolLabels, numClasses, [testFraction, valFraction], deriveSeed(seed, 'split'));
  const pick = (local: Int32Array) => local.map((i) => pool[i]);
  let train = gatherSplit('train', src, pick(trainLocal));
  const val = gatherSplit('val', src, pick(valLocal));
  const test = gatherSplit('test', src, pick(testLocal));
  if (val.n === 0 || test.n === 0) {
    throw new AppError('INVALID_DATA', `The dataset is too small to split: ${pool.length} samples give ${train.n} for training, ${val.n} for validation and ${test.n} for testing. Add samples or raise the fractions.`);
  }
  if (opts.labeledCount !== undefined && opts.labeledCount < train.n) {
    train = withLabeledCount(train, numClasses, opts.labeledCount, deriveSeed(seed, 'labeled'));
  }
  return { train, val, test };
}
