/** A small synthetic classification set (Gaussian blobs), as `TrainingData`/`LoadedDataset`, for training tests. */
import type { LoadedDataset, Split, SplitRole } from '../../src-main/data';
import { createRng } from '../../src-main/data/rng';

export function blobs(opts: { classes?: number; features?: number; perClass?: number; seed?: number; spread?: number } = {}): LoadedDataset {
  const c = opts.classes ?? 3;
  const f = opts.features ?? 4;
  const per = opts.perClass ?? 40;
  const rand = createRng(opts.seed ?? 1);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const centers = Array.from({ length: c }, () => Array.from({ length: f }, () => gauss() * 2));
  const make = <R extends SplitRole>(role: R, n: number): Split<R> => {
    const x = new Float32Array(n * f);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % c;
      for (let j = 0; j < f; j++) x[i * f + j] = centers[y[i]][j] + gauss() * (opts.spread ?? 1);
    }
    return { role, x, y, n, sampleShape: [f] };
  };
  const train = make('train', per * c);
  const val = make('val', Math.max(c, Math.round(per / 4)) * c);
  const test = make('test', Math.max(c, Math.round(per / 4)) * c);
  const classes = Array.from({ length: c }, (_, i) => `class${i}`);
  return {
    info: {
      name: 'blobs',
      kind: 'csv',
      source: 'synthetic',
      contentHash: 'synthetic',
      modality: 'tabular',
      classes,
      counts: classes.map(() => per + 2 * Math.max(c, Math.round(per / 4))),
      inputShape: [f],
      split: { seed: 0, train: train.n, val: val.n, test: test.n },
    },
    train,
    val,
    test,
  };
}
