/**
 * Per-layer sensitivity: quantize one fused op at a time (its input, weights and output in int8,
 * everything else in float) and measure the accuracy drop against the float model. Layers at the
 * top of the list are the candidates to keep in float (`keepFloat` in the recipe).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import type { QuantParams } from './params';
import { accuracyOf, Int8Simulator } from './simulate';

export interface LayerSensitivity {
  layer: string;
  accuracy: number;
  /** Float accuracy − accuracy with only this layer quantized (points of accuracy, 0…1). */
  drop: number;
}

export async function layerSensitivity(
  model: tfl.LayersModel,
  params: QuantParams,
  samples: Parameters<typeof accuracyOf>[1],
  opts: { onLayer?: (done: number, total: number) => void; throwIfCancelled?: () => void } = {},
): Promise<{ floatAccuracy: number; layers: LayerSensitivity[] }> {
  const float = await Int8Simulator.create(model, params, { only: [] });
  const floatAccuracy = accuracyOf((x) => float.run(x), samples);
  const ops = float.quantizableOps;
  float.dispose();
  const layers: LayerSensitivity[] = [];
  for (const [i, name] of ops.entries()) {
    opts.throwIfCancelled?.();
    const sim = await Int8Simulator.create(model, params, { only: [name] });
    try {
      const accuracy = accuracyOf((x) => sim.run(x), samples);
      layers.push({ layer: name, accuracy, drop: floatAccuracy - accuracy });
    } finally {
      sim.dispose();
    }
    opts.onLayer?.(i + 1, ops.length);
  }
  layers.sort((a, b) => b.drop - a.drop || a.layer.localeCompare(b.layer));
  return { floatAccuracy, layers };
}
