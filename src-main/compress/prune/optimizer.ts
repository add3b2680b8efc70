/** The recipe's optimizer spec as a TF.js optimizer. */
import * as tf from '@tensorflow/tfjs-core';

export interface OptimizerSpec {
  name: 'adam' | 'sgd';
  learningRate: number;
  momentum: number;
}

export function makeOptimizer(spec: OptimizerSpec): tf.Optimizer {
  return spec.name === 'sgd' ? tf.train.momentum(spec.learningRate, spec.momentum) : tf.train.adam(spec.learningRate);
}
