/** Multi-layer perceptron: [Flatten] -> Dense(relu) × n -> Dense logits. For tables, or images flattened. */
import * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import { Builder, type TemplateBase, checkBase, checkDropout, scaled } from './common';

export interface MlpSpec extends TemplateBase {
  template: 'mlp';
  /** Hidden layer sizes at width 1. Default [256, 128]. */
  hidden?: number[];
  /** Dropout after each hidden layer (identity at inference). Default 0. */
  dropout?: number;
}

export function buildMlp(spec: MlpSpec): tfl.LayersModel {
  const { width, seed } = checkBase('mlp', spec, false);
  const hidden = spec.hidden ?? [256, 128];
  if (hidden.some((h) => !Number.isInteger(h) || h < 1)) throw new AppError('INVALID_ARGS', `Hidden layer sizes must be positive whole numbers (got [${hidden.join(', ')}]).`);
  const dropout = checkDropout(spec.dropout);
  const b = new Builder(seed);
  const input = b.input(spec.inputShape);
  let x = spec.inputShape.length > 1 ? b.flatten(input) : input;
  hidden.forEach((units, i) => {
    x = b.dense(x, `dense${i + 1}`, scaled(units, width), 'relu');
    x = b.dropout(x, `dropout${i + 1}`, dropout);
  });
  return tfl.model({ inputs: input, outputs: b.logits(x, spec.numClasses), name: spec.name ?? 'mlp' });
}
