/**
 * The dilation a Conv2D / DepthwiseConv2D layer really computes in TF.js, which is what every
 * PocketBench path that re-implements a layer (the exporter's graph, the INT8 simulator, QAT) must
 * use so the exported file, the simulation and the trained model agree.
 *
 * tfjs-layers 4.x `DepthwiseConv2D.call()` passes no dilation to the op (its source says "TODO(cais):
 * Add support for dilation"): a DepthwiseConv2D configured with `dilationRate: 2` trains, predicts
 * and is evaluated undilated, and its output shape is computed undilated too. Conv2D honours it.
 * `dilation.test.ts` fails if a tfjs-layers update starts honouring it.
 */
import type * as tfl from '@tensorflow/tfjs-layers';

/** A layer's 2-D config value (`kernelSize`, `strides`, `dilationRate`…) as a pair; absent: `fallback`. */
export function pair(v: unknown, fallback = 1): [number, number] {
  if (Array.isArray(v)) return [Number(v[0] ?? fallback), Number(v[1] ?? v[0] ?? fallback)];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
}

/** The dilation TF.js applies, and the configured one (they differ for a dilated DepthwiseConv2D). */
export function layerDilation(layer: tfl.layers.Layer): { computed: [number, number]; configured: [number, number] } {
  const configured = pair((layer.getConfig() as { dilationRate?: unknown }).dilationRate);
  return { computed: layer.getClassName() === 'DepthwiseConv2D' ? [1, 1] : configured, configured };
}
