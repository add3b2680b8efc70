/**
 * Imported models often end in a softmax; training, distillation (temperature scaling) and the
 * exporter all expect logits. This gives a logits model that shares the original's weights.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';

export function outputsProbabilities(model: tfl.LayersModel): boolean {
  const last = model.outputs[0].sourceLayer;
  const cfg = last.getConfig() as { activation?: unknown };
  return last.getClassName() === 'Softmax' || cfg.activation === 'softmax';
}

/**
 * The same network with the final softmax removed. A trailing Activation('softmax') is dropped
 * (the new model shares every layer); a Dense/Conv with a fused softmax is rebuilt from its
 * config with a linear activation and given the same weights.
 */
export async function toLogitsModel(model: tfl.LayersModel): Promise<tfl.LayersModel> {
  if (!outputsProbabilities(model)) return model;
  const last = model.outputs[0].sourceLayer;
  if (last.getClassName() === 'Activation' || last.getClassName() === 'Softmax') {
    const before = last.inboundNodes[0].inputTensors[0] as SymbolicTensor;
    return tfl.model({ inputs: model.inputs, outputs: before, name: model.name });
  }
  const json = model.toJSON(null, false) as { config: { layers: { config: { name: string; activation?: string } }[] } };
  for (const l of json.config.layers) if (l.config.name === last.name) l.config.activation = 'linear';
  const rebuilt = (await tfl.models.modelFromJSON({ modelTopology: json } as never)) as tfl.LayersModel;
  rebuilt.setWeights(model.getWeights());
  return rebuilt;
}
