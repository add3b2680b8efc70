/**
 * Input resolution as a search dimension: the dataset's images resized (bilinear, half-pixel centres,
 * as Android's image classifiers resize camera frames) to a square side. A candidate at a lower
 * resolution is trained, calibrated, validated and tested on the resized splits, and its `.tflite`
 * takes the smaller input (its metadata says so, so an app resizes before feeding it).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LoadedDataset, Split } from '../../data';

function resizeSplit<S extends Split>(split: S, side: number, batch = 512): S {
  const [h, w, c] = split.sampleShape;
  if (h === side && w === side) return split;
  const per = h * w * c;
  const outPer = side * side * c;
  const x = new Float32Array(split.n * outPer);
  for (let start = 0; start < split.n; start += batch) {
    const end = Math.min(split.n, start + batch);
    const out = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(split.x.subarray(start * per, end * per), [end - start, h, w, c]), [side, side], false, true));
    x.set(out.dataSync(), start * outPer);
    out.dispose();
  }
  return { ...split, x, sampleShape: [side, side, c] };
}

/** The dataset at `side` × `side` (the same object when it already is, or when it is not made of images). */
export function atResolution(ds: LoadedDataset, side: number | null): LoadedDataset {
  if (side === null || ds.info.modality !== 'image') return ds;
  const [h, w] = ds.info.inputShape;
  if (h === side && w === side) return ds;
  return {
    info: { ...ds.info, inputShape: [side, side, ds.info.inputShape[2]] },
    train: resizeSplit(ds.train, side),
    val: resizeSplit(ds.val, side),
    test: resizeSplit(ds.test, side),
  };
}
