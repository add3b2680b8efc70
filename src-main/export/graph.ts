/**
 * TF.js Layers model → a small operator graph in TFLite terms, with float weights: BatchNormalization
 * folded into the preceding convolution/dense, ReLU/ReLU6 fused into their producer, kernels converted
 * to TFLite layouts (done once, here). The exporter (exporter.ts) then lowers this graph to tensors of
 * a precision. Anything that cannot be exported throws before a byte is written, naming the layer.
 *
 * Layouts: TF.js Conv2D kernel HWIO [kh, kw, in, out] → TFLite OHWI [out, kh, kw, in]; DepthwiseConv2D
 * [kh, kw, in, mult] → [1, kh, kw, in·mult] (same memory order: output channel = i·mult + m); Dense
 * [in, out] → [out, in].
 *
 * Values are named after the TF.js layer whose output they are; a fused chain takes the name of its
 * LAST layer, which is also where QuantParams looks up the range (see compress/quantize/params.ts).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../src-shared/errors';
import { inboundLayerNames } from '../compress/quantize/minmax';
import { layerDilation, pair } from '../models/dilation';

export type FusedActivation = 'NONE' | 'RELU' | 'RELU6';
export type PaddingMode = 'same' | 'valid';

interface OpBase {
  /** The TF.js layer(s) this operator came from, first one first (for messages and floatLayers). */
  layers: string[];
  inputs: string[];
  output: string;
}
export interface ConvOp extends OpBase {
  kind: 'conv' | 'depthwise';
  /** OHWI for conv, 1HWO for depthwise. */
  weights: Float32Array;
  weightShape: number[];
  bias: Float32Array;
  stride: [number, number];
  dilation: [number, number];
  padding: PaddingMode;
  depthMultiplier: number;
  activation: FusedActivation;
}
export interface DenseOp extends OpBase {
  kind: 'dense';
  /** [out, in]. */
  weights: Float32Array;
  weightShape: [number, number];
  bias: Float32Array;
  activation: FusedActivation;
}
export interface PoolOp extends OpBase {
  kind: 'maxpool' | 'avgpool';
  filter: [number, number];
  stride: [number, number];
  padding: PaddingMode;
  activation: FusedActivation;
}
export interface SimpleOp extends OpBase {
  kind: 'mean' | 'reshape' | 'softmax' | 'relu' | 'relu6' | 'logistic' | 'hardswish';
}
export interface AddOp extends OpBase {
  /** Element-wise sum or product of two values (`mul` may broadcast, e.g. a squeeze-excite gate). */
  kind: 'add' | 'mul';
  activation: FusedActivation;
}
export interface ConcatOp extends OpBase {
  kind: 'concat';
  axis: number;
  activation: FusedActivation;
}
export interface PadOp extends OpBase {
  kind: 'pad';
  /** [[before, after]] per dimension, NHWC. */
  paddings: [number, number][];
}
/** y = x · scale + shift per feature (a BatchNormalization with nothing to fold into, rank 2). */
export interface AffineOp extends OpBase {
  kind: 'affine';
  scale: Float32Array;
  shift: Float32Array;
}
export type IrOp = ConvOp | DenseOp | PoolOp | SimpleOp | AddOp | ConcatOp | PadOp | AffineOp;

export interface IrGraph {
  name: string;
  input: string;
  output: string;
  /** Shape of each value with batch 1. */
  shapes: Map<string, number[]>;
  ops: IrOp[];
  /** Number of operators reading each value (fusion only happens into a single reader). */
  readers: Map<string, number>;
  /** What the file does differently from the layer configuration, for the export's warnings. */
  notes: string[];
}

/** `softmax` and `sigmoid` become operators of their own (SOFTMAX, LOGISTIC) after the layer's. */
type LayerActivation = FusedActivation | 'softmax' | 'sigmoid';
const ACTIVATIONS: Record<string, LayerActivation> = { linear: 'NONE', relu: 'RELU', relu6: 'RELU6', softmax: 'softmax', sigmoid: 'sigmoid' };
const SEPARATE_OP = { softmax: 'softmax', sigmoid: 'logistic' } as const;

function unsupported(layer: tfl.layers.Layer, why: string): AppError {
  return new AppError(
    'UNSUPPORTED',
    `Layer "${layer.name}" (${layer.getClassName()}) cannot be exported to .tflite: ${why}. Nothing was written; replace or remove this layer and export again.`,
    { layer: layer.name, type: layer.getClassName() },
  );
}

function batch1(shape: readonly (number | null)[], layer: tfl.layers.Layer): number[] {
  const s = shape.map((d, i) => (i === 0 ? 1 : d));
  if (s.some((d) => d === null || !Number.isInteger(d))) throw unsupported(layer, `its output shape [${shape.join(', ')}] is not fully known`);
  return s as number[];
}

/** Builds the operator graph. Pure: reads the weights, changes nothing. */
export function buildGraph(model: tfl.LayersModel): IrGraph {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new AppError('UNSUPPORTED', `Only models with one input and one output can be exported (this one has ${model.inputs.length} and ${model.outputs.length}).`);
  }
  const inbound = inboundLayerNames(model);
  // Readers per layer output, looking through Dropout (it disappears at inference).
  const alias = new Map<string, string>();
  const resolve = (name: string): string => alias.get(name) ?? name;
  const shapes = new Map<string, number[]>();
  const ops: IrOp[] = [];
  const notes: string[] = [];
  const producer = new Map<string, IrOp>();
  const readerCount = new Map<string, number>();
  for (const layer of model.layers) for (const from of inbound.get(layer.name) ?? []) readerCount.set(from, (readerCount.get(from) ?? 0) + 1);
  let input = '';

  const add = (op: IrOp, shape: number[]) => {
    ops.push(op);
    producer.set(op.output, op);
    shapes.set(op.output, shape);
  };
  /** Renames a value (a fused layer takes over its producer's output). */
  const rename = (op: IrOp, to: string) => {
    const shape = shapes.get(op.output)!;
    producer.delete(op.output);
    op.output = to;
    producer.set(to, op);
    shapes.set(to, shape);
  };
  /** The producer of `value` if this layer may fuse into it: sole reader, not the model input. */
  const fusable = (value: string, layerIn: string): IrOp | undefined => {
    if ((readerCount.get(layerIn) ?? 0) !== 1) return undefined;
    return producer.get(value);
  };

  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as Record<string, unknown>;
    const from = (inbound.get(layer.name) ?? []).map(resolve);
    const rawFrom = inbound.get(layer.name) ?? [];
    const outShape = () => batch1(layer.outputShape as (number | null)[], layer);
    const activation = (): LayerActivation => {
      const a = cfg.activation === undefined ? 'linear' : String(cfg.activation);
      const act = ACTIVATIONS[a];
      if (!act) throw unsupported(layer, `activation "${a}" has no TFLite equivalent here (supported: ${Object.keys(ACTIVATIONS).join(', ')})`);
      return act;
    };
    if (cfg.dataFormat && cfg.dataFormat !== 'channelsLast') throw unsupported(layer, 'only channels-last (NHWC) data is supported');
    const weights = () => layer.getWeights().map((t) => t.dataSync() as Float32Array);
    /** Adds an op whose activation may be softmax or sigmoid (split into a SOFTMAX / LOGISTIC op after it). */
    const withActivation = (op: ConvOp | DenseOp | PoolOp, shape: number[]) => {
      const act = activation();
      if (act === 'softmax' || act === 'sigmoid') {
        op.output = `${layer.name}:logits`;
        add(op, shape);
        add({ kind: SEPARATE_OP[act], layers: [layer.name], inputs: [op.output], output: layer.name }, shape);
      } else {
        op.activation = act;
        add(op, shape);
      }
    };

    switch (cls) {
      case 'InputLayer': {
        input = layer.name;
        shapes.set(layer.name, batch1((cfg.batchInputShape as (number | null)[]) ?? (layer.outputShape as (number | null)[]), layer));
        break;
      }
      case 'Dropout':
        alias.set(layer.name, from[0]);
        break;
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const [kernel, bias] = weights();
        const kshape = layer.getWeights()[0].shape;
        const [kh, kw, cin, last] = kshape;
        const depthwise = cls === 'DepthwiseConv2D';
        const cout = depthwise ? cin * last : last;
        let w: Float32Array;
        if (depthwise) w = Float32Array.from(kernel); // [kh,kw,in,mult] is already [1,kh,kw,in·mult] in memory
        else {
          w = new Float32Array(kernel.length);
          for (let y = 0; y < kh; y++)
            for (let x = 0; x < kw; x++)
              for (let i = 0; i < cin; i++)
                for (let o = 0; o < cout; o++) w[((o * kh + y) * kw + x) * cin + i] = kernel[((y * kw + x) * cin + i) * cout + o];
        }
        // What TF.js computes (a DepthwiseConv2D runs undilated whatever its dilationRate; see models/dilation.ts).
        const { computed: dilation, configured } = layerDilation(layer);
        if (configured[0] !== dilation[0] || configured[1] !== dilation[1]) {
          notes.push(`Layer "${layer.name}" (${cls}) is configured with dilation ${configured.join('×')}, which TF.js ignores; written undilated, as it was trained and evaluated.`);
        }
        const groups = Number(cfg.groups ?? 1);
        if (groups !== 1) throw unsupported(layer, 'grouped convolutions are not supported');
        withActivation(
          {
            kind: depthwise ? 'depthwise' : 'conv',
            layers: [layer.name],
            inputs: [from[0]],
            output: layer.name,
            weights: w,
            weightShape: depthwise ? [1, kh, kw, cout] : [cout, kh, kw, cin],
            bias: bias ? Float32Array.from(bias) : new Float32Array(cout),
            stride: pair(cfg.strides, 1),
            dilation,
            padding: cfg.padding === 'same' ? 'same' : cfg.padding === 'valid' ? 'valid' : (() => { throw unsupported(layer, `padding "${String(cfg.padding)}" is not supported`); })(),
            depthMultiplier: depthwise ? last : 1,
            activation: 'NONE',
          },
          outShape(),
        );
        break;
      }
      case 'Dense': {
        const inShape = shapes.get(from[0])!;
        if (inShape.length !== 2) throw unsupported(layer, `it reads a rank-${inShape.length} tensor; add a Flatten before it`);
        const [kernel, bias] = weights();
        const [nin, nout] = layer.getWeights()[0].shape;
        const w = new Float32Array(kernel.length);
        for (let i = 0; i < nin; i++) for (let o = 0; o < nout; o++) w[o * nin + i] = kernel[i * nout + o];
        withActivation(
          { kind: 'dense', layers: [layer.name], inputs: [from[0]], output: layer.name, weights: w, weightShape: [nout, nin], bias: bias ? Float32Array.from(bias) : new Float32Array(nout), activation: 'NONE' },
          outShape(),
        );
        break;
      }
      case 'BatchNormalization':
      case 'ScaleShift': {
        const axis = Number(cfg.axis ?? -1);
        const rank = shapes.get(from[0])!.length;
        if (axis !== -1 && axis !== rank - 1) throw unsupported(layer, 'only normalization over the last (channel) axis is supported');
        const ws = weights();
        const channels = shapes.get(from[0])![rank - 1];
        let scale: Float32Array;
        let shift: Float32Array;
        if (cls === 'ScaleShift') [scale, shift] = [Float32Array.from(ws[0]), Float32Array.from(ws[1])];
        else {
          let k = 0;
          const gamma = cfg.scale === false ? new Float32Array(channels).fill(1) : ws[k++];
          const beta = cfg.center === false ? new Float32Array(channels) : ws[k++];
          const mean = ws[k++];
          const variance = ws[k++];
          const eps = Number(cfg.epsilon ?? 1e-3);
          scale = Float32Array.from(gamma, (g, c) => g / Math.sqrt(variance[c] + eps));
          shift = Float32Array.from(beta, (b, c) => b - mean[c] * scale[c]);
        }
        const prev = fusable(from[0], rawFrom[0]);
        if (prev && (prev.kind === 'conv' || prev.kind === 'depthwise' || prev.kind === 'dense') && prev.activation === 'NONE') {
          // Fold: every output channel's weights and bias scale by gamma/σ, then shift.
          const perOut = prev.weights.length / channels;
          for (let c = 0; c < channels; c++) {
            if (prev.kind === 'depthwise') for (let j = 0; j < perOut; j++) prev.weights[j * channels + c] *= scale[c];
            else for (let j = 0; j < perOut; j++) prev.weights[c * perOut + j] *= scale[c];
            prev.bias[c] = prev.bias[c] * scale[c] + shift[c];
          }
          prev.layers.push(layer.name);
          rename(prev, layer.name);
        } else if (rank === 4) {
          // A per-channel affine map is a 1×1 depthwise convolution: exact, and quantizable like one.
          add(
            { kind: 'depthwise', layers: [layer.name], inputs: [from[0]], output: layer.name, weights: scale, weightShape: [1, 1, 1, channels], bias: shift, stride: [1, 1], dilation: [1, 1], padding: 'valid', depthMultiplier: 1, activation: 'NONE' },
            outShape(),
          );
        } else if (rank === 2) {
          // Float: MUL then ADD by per-feature constants. Full INT8: the same map as a diagonal FULLY_CONNECTED.
          add({ kind: 'affine', layers: [layer.name], inputs: [from[0]], output: layer.name, scale, shift }, outShape());
        } else throw unsupported(layer, `normalizing a rank-${rank} tensor on its own is not supported`);
        break;
      }
      case 'ReLU':
      case 'Activation': {
        let act: LayerActivation;
        if (cls === 'ReLU') {
          const max = cfg.maxValue;
          if (max != null && max !== 6) throw unsupported(layer, `a ReLU capped at ${String(max)} has no TFLite fused form (only 6)`);
          act = max === 6 ? 'RELU6' : 'RELU';
        } else act = activation();
        if (act === 'NONE') {
          alias.set(layer.name, from[0]);
          break;
        }
        const prev = fusable(from[0], rawFrom[0]);
        // Never into CONCATENATION: TFLite's kernel refuses a fused activation there (its Prepare checks
        // activation == NONE) while XNNPack silently ignores it.
        if (act !== 'softmax' && act !== 'sigmoid' && prev && prev.kind !== 'concat' && 'activation' in prev && prev.activation === 'NONE') {
          prev.activation = act;
          prev.layers.push(layer.name);
          rename(prev, layer.name);
        } else {
          const kind = act === 'softmax' || act === 'sigmoid' ? SEPARATE_OP[act] : act === 'RELU6' ? 'relu6' : 'relu';
          add({ kind, layers: [layer.name], inputs: [from[0]], output: layer.name }, outShape());
        }
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const filter = pair(cfg.poolSize, 2);
        withActivation(
          { kind: cls === 'MaxPooling2D' ? 'maxpool' : 'avgpool', layers: [layer.name], inputs: [from[0]], output: layer.name, filter, stride: pair(cfg.strides ?? cfg.poolSize, 2), padding: cfg.padding === 'same' ? 'same' : 'valid', activation: 'NONE' },
          outShape(),
        );
        break;
      }
      case 'GlobalAveragePooling2D':
        add({ kind: 'mean', layers: [layer.name], inputs: [from[0]], output: layer.name }, outShape());
        break;
      case 'Flatten':
      case 'Reshape':
        add({ kind: 'reshape', layers: [layer.name], inputs: [from[0]], output: layer.name }, outShape());
        break;
      case 'Add':
      case 'Multiply': {
        const verb = cls === 'Add' ? 'adds' : 'multiplies';
        if (from.length !== 2) throw unsupported(layer, `it ${verb} ${from.length} tensors; only two are supported`);
        const a = shapes.get(from[0])!;
        const b = shapes.get(from[1])!;
        // MUL broadcasts a [1, 1, 1, C] gate over a feature map (squeeze-and-excite); ADD needs equal shapes.
        const broadcasts = a.length === b.length && a.every((d, i) => d === b[i] || d === 1 || b[i] === 1);
        if (cls === 'Add' ? a.join() !== b.join() : !broadcasts) throw unsupported(layer, `its inputs have different shapes [${a.join(', ')}] and [${b.join(', ')}]`);
        add({ kind: cls === 'Add' ? 'add' : 'mul', layers: [layer.name], inputs: from, output: layer.name, activation: 'NONE' }, outShape());
        break;
      }
      case 'HardSwish':
        add({ kind: 'hardswish', layers: [layer.name], inputs: [from[0]], output: layer.name }, outShape());
        break;
      case 'Concatenate': {
        const shape = outShape();
        const axis = Number(cfg.axis ?? -1);
        add({ kind: 'concat', layers: [layer.name], inputs: from, output: layer.name, axis: axis < 0 ? shape.length + axis : axis, activation: 'NONE' }, shape);
        break;
      }
      case 'ZeroPadding2D': {
        const p = cfg.padding as number | [number, number] | [[number, number], [number, number]];
        const [ph, pw]: [number, number][] = typeof p === 'number' ? [[p, p], [p, p]] : Array.isArray(p[0]) ? (p as [[number, number], [number, number]]) : [[p[0] as number, p[0] as number], [p[1] as number, p[1] as number]];
        add({ kind: 'pad', layers: [layer.name], inputs: [from[0]], output: layer.name, paddings: [[0, 0], ph, pw, [0, 0]] }, outShape());
        break;
      }
      default:
        throw unsupported(layer, 'this layer type has no .tflite operator in PocketBench');
    }
  }
  const output = resolve(model.outputLayers[0].name);
  const readers = new Map<string, number>();
  for (const op of ops) for (const v of op.inputs) readers.set(v, (readers.get(v) ?? 0) + 1);
  return { name: model.name, input, output, shapes, ops, readers, notes };
}
