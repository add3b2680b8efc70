/**
 * From a model configuration (any of the JSON dialects `keras-config.ts` reads) and a weight store
 * to one flat TF.js Layers model: normalise, flatten nested models, fold a leading `Rescaling`
 * into the input convention, refuse what the exporter cannot handle (naming the layers), refuse
 * models that are not classifiers with one input and one output, build, copy the weights.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import { assertSupported } from '../supported';
import { flattenTopology, type FlatLeaf } from './flatten';
import { normalizeLayer, type LayerJson, type NodeInput } from './keras-config';
import { assignWeights, type WeightStore } from './weights';

export interface BuiltModel {
  model: tfl.LayersModel;
  leaves: FlatLeaf[];
  nestedModels: number;
  /** A leading Rescaling(scale, offset) removed from the graph: the input convention must apply it. */
  rescaling: { layer: string; scale: number; offset: number } | null;
  /** Original layer names (leaf names inside nested models included), for recognising known architectures. */
  layerNames: string[];
}

/** Remove a Rescaling layer that is the only consumer of the input, reconnecting its consumers to the input. */
function foldInputRescaling(flat: ReturnType<typeof flattenTopology>): BuiltModel['rescaling'] {
  const { layers, input_layers } = flat.topology.config;
  if (input_layers.length !== 1) return null;
  const input = input_layers[0][0];
  const consumers = layers.filter((l) => (l.inbound_nodes as NodeInput[][] | undefined)?.some((n) => n.some((i) => i[0] === input)));
  if (consumers.length !== 1 || consumers[0].class_name !== 'Rescaling' || consumers[0].inbound_nodes!.length !== 1) return null;
  const r = consumers[0];
  const scale = Number(r.config.scale ?? 1);
  const offset = Number(r.config.offset ?? 0);
  if (!Number.isFinite(scale) || !Number.isFinite(offset) || scale === 0 || Array.isArray(r.config.scale) || Array.isArray(r.config.offset)) return null;
  const name = String(r.name);
  for (const l of layers) for (const n of (l.inbound_nodes as NodeInput[][] | undefined) ?? []) for (const i of n) if (i[0] === name) i[0] = input;
  flat.topology.config.output_layers = flat.topology.config.output_layers.map((o) => (o[0] === name ? [input, 0, 0] : o));
  layers.splice(layers.indexOf(r), 1);
  flat.leaves.splice(flat.leaves.findIndex((l) => l.name === name), 1);
  return { layer: name, scale, offset };
}

function shapeText(s: (number | null)[]): string {
  return `[${s.map((d) => d ?? '?').join(', ')}]`;
}

export async function buildFlatModel(rawTopology: unknown, store: WeightStore, what: string): Promise<BuiltModel> {
  const top: LayerJson = normalizeLayer(rawTopology, what);
  const flat = flattenTopology(top, what);
  const rescaling = foldInputRescaling(flat);
  const { input_layers: ins, output_layers: outs } = flat.topology.config;
  if (ins.length !== 1) {
    throw new AppError('UNSUPPORTED', `${what} has ${ins.length} inputs (${ins.map((i) => `"${i[0]}"`).join(', ')}); PocketBench imports image and feature classifiers with one input.`, { file: what, inputs: ins.map((i) => i[0]) });
  }
  if (outs.length !== 1) {
    throw new AppError(
      'UNSUPPORTED',
      `${what} has ${outs.length} outputs (${outs.map((o) => `"${o[0]}"`).join(', ')}); PocketBench imports classifiers with one output. Detectors (boxes + scores) and multi-head models cannot be teachers; export the classification head alone.`,
      { file: what, outputs: outs.map((o) => o[0]) },
    );
  }
  assertSupported(flat.topology, `The model ${what}`);
  let model: tfl.LayersModel;
  try {
    model = (await tfl.models.modelFromJSON({ modelTopology: flat.topology } as never)) as tfl.LayersModel;
  } catch (err) {
    throw new AppError('INVALID_MODEL', `${what}: the model cannot be built from its configuration (${String((err as Error).message ?? err).split('\n')[0]}).`, { file: what });
  }
  try {
    const out = model.outputs[0].shape;
    if (out.length !== 2 || !out[1]) {
      throw new AppError(
        'UNSUPPORTED',
        `${what}: the output "${outs[0][0]}" has shape ${shapeText(out)}; a classifier gives one score per class, shape [?, classes]. Detectors and segmenters cannot be teachers.`,
        { file: what, outputShape: out },
      );
    }
    assignWeights(model, flat.leaves, store, what);
  } catch (err) {
    model.dispose();
    throw err;
  }
  const layerNames = flat.leaves.map((l) => l.path[l.path.length - 1]);
  return { model, leaves: flat.leaves, nestedModels: flat.nestedModels, rescaling, layerNames };
}
