/**
 * LeNet-style CNN: [Conv(k×k, relu) -> MaxPool 2×2] per filter count -> Flatten -> Dense(relu) ->
 * Dense logits. Defaults give the reference models of issue 3: conv3×3(32)-pool-conv3×3(64)-pool-
 * dense(128)-dense(10) at width 1, and 8/16/32 at width 0.25. Valid padding as in the classic Keras
 * MNIST example (28 -> 26 -> 13 -> 11 -> 5).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import { Builder, type TemplateBase, checkBase, checkDropout, scaled } from './common';

export interface LenetSpec extends TemplateBase {
  template: 'lenet';
  /** Filters of each conv layer at width 1 (each followed by a 2×2 max pool). Default [32, 64]. */
  filters?: number[];
  /** Hidden dense sizes at width 1. Default [128]. */
  dense?: number[];
  kernelSize?: number;
  /** Default 'valid'. */
  padding?: 'valid' | 'same';
  /** Dropout before each dense layer. Default 0. */
  dropout?: number;
}

export function buildLenet(spec: LenetSpec): tfl.LayersModel {
  const { width, seed } = checkBase('lenet', spec, true);
  const filters = spec.filters ?? [32, 64];
  const dense = spec.dense ?? [128];
  const k = spec.kernelSize ?? 3;
  const padding = spec.padding ?? 'valid';
  const dropout = checkDropout(spec.dropout);
  // Say up front when the input is too small for the conv/pool stack, rather than fail inside tfjs.
  let [h, w] = spec.inputShape;
  for (const _ of filters) {
    if (padding === 'valid') [h, w] = [h - k + 1, w - k + 1];
    [h, w] = [Math.floor(h / 2), Math.floor(w / 2)];
    if (h < 1 || w < 1) {
      throw new AppError('INVALID_ARGS', `A ${spec.inputShape[0]}×${spec.inputShape[1]} input is too small for ${filters.length} conv+pool stages with ${padding} padding; use fewer filters entries or 'same' padding.`);
    }
  }
  const b = new Builder(seed);
  const input = b.input(spec.inputShape);
  let x = input;
  filters.forEach((f, i) => {
    x = b.conv(x, `conv${i + 1}`, scaled(f, width), { kernel: k, padding, activation: 'relu' });
    x = b.maxPool(x, `pool${i + 1}`);
  });
  x = b.flatten(x);
  dense.forEach((units, i) => {
    x = b.dropout(x, `dropout${i + 1}`, dropout);
    x = b.dense(x, `dense${i + 1}`, scaled(units, width), 'relu');
  });
  return tfl.model({ inputs: input, outputs: b.logits(x, spec.numClasses), name: spec.name ?? 'lenet' });
}
