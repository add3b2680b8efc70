/**
 * Softmax cross-entropy on integer labels as one kernel each way on wasm. Written with tfjs ops
 * (oneHot, logSoftmax, mul, sum, div...) the loss of a batch is ~16 kernels forward and ~15 backward
 * on a [batch, classes] tensor of a few hundred floats: pure per-kernel overhead, about a tenth of a
 * small model's training step. `PocketBenchSparseCE` computes the same value: the mean over labeled
 * rows (label ≥ 0; -1 marks an unlabeled row) of −log softmax(logits)[label], 0 when no row is
 * labeled (a label past the last class counts as labeled and adds 0, as in the op chain); its registered gradient is one `PocketBenchSparseCEGrad` kernel giving
 * (softmax − onehot)·dy / max(labeled, 1) on labeled rows and 0 on the others, which is what tfjs
 * derives for the op chain. Arithmetic is in float64 with a max-shifted log-sum-exp (rounded to
 * float32 once at the end), so it agrees with the op chain to float32 rounding.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelFunc, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs-core';

export const SPARSE_CE = 'PocketBenchSparseCE';
export const SPARSE_CE_GRAD = 'PocketBenchSparseCEGrad';

interface Args {
  inputs: NamedTensorMap;
  backend: BackendWasm;
}

/** Per labeled row, log of the softmax's denominator after shifting by the row maximum. */
function rowStats(z: Float32Array, row: number, classes: number): { max: number; logSum: number } {
  let max = -Infinity;
  for (let j = 0; j < classes; j++) max = Math.max(max, z[row * classes + j]);
  let sum = 0;
  for (let j = 0; j < classes; j++) sum += Math.exp(z[row * classes + j] - max);
  return { max, logSum: Math.log(sum) };
}

function geometry(logits: TensorInfo): { rows: number; classes: number } {
  const classes = logits.shape[logits.shape.length - 1];
  return { rows: tf.util.sizeFromShape(logits.shape) / classes, classes };
}

const forward = (({ inputs, backend }: Args) => {
  const { logits, labels } = inputs;
  const { rows, classes } = geometry(logits);
  const out = backend.makeOutput([], 'float32');
  const z = backend.typedArrayFromHeap(logits) as Float32Array;
  const y = backend.typedArrayFromHeap(labels) as Int32Array;
  let total = 0;
  let labeled = 0;
  for (let i = 0; i < rows; i++) {
    const label = y[i];
    if (label < 0) continue; // unlabeled
    labeled++; // as the op chain counts it; a label past the classes one-hots to a zero row: adds 0
    if (label >= classes) continue;
    const { max, logSum } = rowStats(z, i, classes);
    total += -(z[i * classes + label] - max - logSum);
  }
  (backend.typedArrayFromHeap(out) as Float32Array)[0] = total / Math.max(labeled, 1);
  return out;
}) as unknown as KernelFunc;

const backward = (({ inputs, backend }: Args) => {
  const { dy, logits, labels } = inputs;
  const { rows, classes } = geometry(logits);
  const out = backend.makeOutput(logits.shape, 'float32');
  const z = backend.typedArrayFromHeap(logits) as Float32Array;
  const y = backend.typedArrayFromHeap(labels) as Int32Array;
  const g = backend.typedArrayFromHeap(out) as Float32Array;
  let labeled = 0;
  for (let i = 0; i < rows; i++) if (y[i] >= 0) labeled++;
  const scale = (backend.typedArrayFromHeap(dy) as Float32Array)[0] / Math.max(labeled, 1);
  for (let i = 0; i < rows; i++) {
    const label = y[i];
    if (label < 0 || label >= classes) {
      g.fill(0, i * classes, (i + 1) * classes);
      continue;
    }
    const { max, logSum } = rowStats(z, i, classes);
    for (let j = 0; j < classes; j++) g[i * classes + j] = (Math.exp(z[i * classes + j] - max - logSum) - (j === label ? 1 : 0)) * scale;
  }
  return out;
}) as unknown as KernelFunc;

let gradientRegistered = false;

/** Registers both kernels for wasm and the forward kernel's gradient (once). */
export function registerFusedLossKernels(): void {
  for (const [kernelName, kernelFunc] of [[SPARSE_CE, forward], [SPARSE_CE_GRAD, backward]] as const) {
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: SPARSE_CE,
    inputsToSave: ['logits', 'labels'],
    gradFunc: (dy, saved) => {
      const [logits, labels] = saved;
      return {
        logits: () => tf.engine().runKernel(SPARSE_CE_GRAD, { dy: dy as tf.Tensor, logits, labels }) as tf.Tensor,
        labels: () => tf.zerosLike(labels),
      };
    },
  });
}

/** The fused loss when the active backend has it (wasm), else null: callers then use the op chain. */
export function fusedSparseCrossEntropy(logits: tf.Tensor, labels: tf.Tensor1D): tf.Scalar | null {
  if (tf.getBackend() !== 'wasm' || !tf.getKernel(SPARSE_CE, 'wasm') || logits.dtype !== 'float32' || labels.dtype !== 'int32') return null;
  if (logits.rank !== 2 || labels.rank !== 1 || logits.shape[0] !== labels.size) return null;
  return tf.engine().runKernel(SPARSE_CE, { logits, labels }) as tf.Scalar;
}
