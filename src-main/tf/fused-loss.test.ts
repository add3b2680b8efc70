import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { labelLoss } from '../compress/train/step';
import { registerFusedLossKernels, SPARSE_CE, SPARSE_CE_GRAD } from './fused-loss';
import { initTestBackends, maxRelError, onBackend, randomArray } from './test-helpers';

beforeAll(async () => {
  await initTestBackends(null);
  registerFusedLossKernels();
});

/** Loss and d loss / d logits with labelLoss on `backend` (wasm: fused kernels; cpu: the op chain). */
function lossAndGrad(backend: string, logits: Float32Array, shape: [number, number], labels: number[], scale = 1) {
  return onBackend(backend, () => {
    const z = tf.tensor2d(logits, shape);
    const y = tf.tensor1d(labels, 'int32');
    // `scale` makes the incoming gradient dy ≠ 1, as a weighted loss (KD's 1 − α) gives it.
    const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => tf.mul(labelLoss(t, y), scale) as tf.Scalar)(z);
    const out = { loss: value.dataSync()[0], grad: grad.dataSync() as Float32Array };
    tf.dispose([z, y, value, grad]);
    return out;
  });
}

describe('fused sparse softmax cross-entropy on wasm', () => {
  const cases: [string, [number, number], number[], number][] = [
    ['all labeled, batch 64 × 10', [64, 10], Array.from({ length: 64 }, (_, i) => (i * 7) % 10), 3],
    ['some rows unlabeled (-1)', [8, 5], [0, -1, 4, 2, -1, -1, 1, 3], 4],
    ['no row labeled (loss 0, gradient 0)', [4, 3], [-1, -1, -1, -1], 5],
    ['a label past the last class (counted, adds 0)', [4, 3], [0, 3, 2, 1], 6],
    ['large logits (log-sum-exp stays finite)', [6, 4], [0, 1, 2, 3, 0, 1], 7],
  ];
  it.each(cases)('matches the op chain: %s', (name, shape, labels, seed) => {
    const z = randomArray(shape, seed).map((v) => (name.startsWith('large') ? v * 80 : v * 4));
    const scale = seed % 2 ? 0.3 : -7.25;
    const fused = lossAndGrad('wasm', z, shape, labels, scale);
    const chain = lossAndGrad('cpu', z, shape, labels, scale);
    expect(Math.abs(fused.loss - chain.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(chain.loss)));
    expect(maxRelError(fused.grad, chain.grad)).toBeLessThanOrEqual(1e-5);
    expect(Number.isFinite(fused.loss)).toBe(true);
  });

  it('runs as one kernel each way', async () => {
    const z = tf.variable(tf.tensor2d(randomArray([16, 10], 8), [16, 10]));
    const y = tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 10), 'int32');
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => labelLoss(z, y), [z]);
      tf.dispose([value, ...Object.values(grads)]);
    });
    // (Identity: the engine's copies of the saved inputs.)
    expect(info.kernels.map((k) => k.name).filter((k) => k !== 'Identity')).toEqual([SPARSE_CE, SPARSE_CE_GRAD]);
    tf.dispose([z, y]);
  });

  it('leaves other backends to the op chain', async () => {
    const names = await onBackend('cpu', async () => {
      const z = tf.tensor2d(randomArray([4, 3], 9), [4, 3]);
      const y = tf.tensor1d([0, 1, 2, 0], 'int32');
      const info = await tf.profile(() => tf.dispose(labelLoss(z, y)));
      tf.dispose([z, y]);
      return info.kernels.map((k) => k.name);
    });
    expect(names).toContain('OneHot');
    expect(names).not.toContain(SPARSE_CE);
  });
});
