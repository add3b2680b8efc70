/**
 * Building blocks shared by the templates: explicit layer names (so two builds of the same spec
 * give the same model.json and the same content hash, and distillation can pair layers by name)
 * and seeded initializers (same seed -> same initial weights).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import { MAX_INPUT_ELEMENTS } from '../../../src-shared/recipe';

export type Tensor = SymbolicTensor;

export interface TemplateBase {
  /** One sample's shape: [height, width, channels] for images, [features] for tables. */
  inputShape: number[];
  numClasses: number;
  /** Multiplies every layer's width (filters, units); 0.25 turns 32/64/128 into 8/16/32. Default 1. */
  width?: number;
  /** Seed for the initial weights. Default 0. */
  seed?: number;
  /** Model name (default: the template name). */
  name?: string;
}

/** A per-layer seed from the model seed and the layer name, independent of build order. */
export function layerSeed(seed: number, layer: string): number {
  let h = 2166136261 ^ (seed | 0);
  for (let i = 0; i < layer.length; i++) h = Math.imul(h ^ layer.charCodeAt(i), 16777619);
  return (h >>> 0) % 2147483647;
}

export function scaled(channels: number, width: number): number {
  return Math.max(1, Math.round(channels * width));
}

export function checkBase(template: string, spec: TemplateBase, needsImage: boolean): { width: number; seed: number } {
  const width = spec.width ?? 1;
  if (!(width > 0 && width <= 16)) throw new AppError('INVALID_ARGS', `The width multiplier must be above 0 and at most 16 (got ${width}).`);
  if (!Number.isInteger(spec.numClasses) || spec.numClasses < 2) throw new AppError('INVALID_ARGS', `A classifier needs at least 2 classes (got ${spec.numClasses}).`);
  if (!spec.inputShape.length || spec.inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new AppError('INVALID_ARGS', `The input shape must be positive whole numbers (got [${spec.inputShape.join(', ')}]).`);
  }
  const elements = spec.inputShape.reduce((a, b) => a * b, 1);
  if (elements > MAX_INPUT_ELEMENTS) {
    throw new AppError('INVALID_ARGS', `The input shape [${spec.inputShape.join(', ')}] holds ${elements.toLocaleString('en')} values per sample; at most ${MAX_INPUT_ELEMENTS.toLocaleString('en')} (1024×1024×4) are allowed.`);
  }
  if (needsImage && spec.inputShape.length !== 3) {
    throw new AppError(
      'INVALID_ARGS',
      `The ${template} template needs image input shaped [height, width, channels]; got [${spec.inputShape.join(', ')}]. Use the mlp template for tabular data.`,
    );
  }
  return { width, seed: spec.seed ?? 0 };
}

/** Largest template a request may build: 100 M parameters (400 MB of float32 weights). */
export const MAX_TEMPLATE_PARAMS = 100_000_000;
/** And 100 G multiply-accumulates per sample (MobileNetV2 at 224 px is 0.3 G, ResNet-50 4 G). */
export const MAX_TEMPLATE_MACS = 100e9;

/**
 * Layer factories with names and seeds filled in. Every weighted layer is charged its parameters and
 * MACs from its input's shape *before* tfjs allocates its weights, so options that multiply into an
 * enormous model are refused at once instead of exhausting memory.
 */
export class Builder {
  private params = 0;
  private macs = 0;

  constructor(private readonly seed: number) {}

  private charge(layer: string, params: number, macs: number): void {
    this.params += params;
    this.macs += macs;
    if (this.params > MAX_TEMPLATE_PARAMS || this.macs > MAX_TEMPLATE_MACS) {
      const what = this.params > MAX_TEMPLATE_PARAMS ? `more than ${MAX_TEMPLATE_PARAMS / 1e6} M parameters` : `more than ${MAX_TEMPLATE_MACS / 1e9} G multiply-adds per sample`;
      throw new AppError('MODEL_TOO_LARGE', `This model would have ${what} (reached at layer "${layer}"). Lower the width, the input size, or the layer sizes and counts.`, {
        params: this.params,
        macs: this.macs,
      });
    }
  }

  /** Output height × width of a k×k window at `stride` over `x`. */
  private outArea(x: Tensor, k: number, stride: number, padding: 'same' | 'valid'): number {
    const [h, w] = [x.shape[1] as number, x.shape[2] as number];
    const out = (n: number) => (padding === 'same' ? Math.ceil(n / stride) : Math.max(0, Math.floor((n - k) / stride) + 1));
    return out(h) * out(w);
  }

  private kernel(name: string) {
    return tfl.initializers.glorotUniform({ seed: layerSeed(this.seed, name) });
  }

  input(shape: number[]): Tensor {
    return tfl.input({ shape, name: 'input' });
  }

  conv(x: Tensor, name: string, filters: number, opts: { kernel?: number; stride?: number; padding?: 'same' | 'valid'; activation?: 'relu' | 'linear'; bias?: boolean } = {}): Tensor {
    const k = opts.kernel ?? 3;
    const cin = x.shape[3] as number;
    this.charge(name, k * k * cin * filters + (opts.bias ?? true ? filters : 0), this.outArea(x, k, opts.stride ?? 1, opts.padding ?? 'same') * k * k * cin * filters);
    return tfl.layers
      .conv2d({
        name,
        filters,
        kernelSize: opts.kernel ?? 3,
        strides: opts.stride ?? 1,
        padding: opts.padding ?? 'same',
        activation: opts.activation ?? 'linear',
        useBias: opts.bias ?? true,
        kernelInitializer: this.kernel(name),
      })
      .apply(x) as Tensor;
  }

  depthwise(x: Tensor, name: string, opts: { stride?: number; kernel?: number } = {}): Tensor {
    const k = opts.kernel ?? 3;
    const c = x.shape[3] as number;
    this.charge(name, k * k * c, this.outArea(x, k, opts.stride ?? 1, 'same') * k * k * c);
    return tfl.layers
      .depthwiseConv2d({
        name,
        kernelSize: opts.kernel ?? 3,
        strides: opts.stride ?? 1,
        padding: 'same',
        depthMultiplier: 1,
        useBias: false,
        depthwiseInitializer: this.kernel(name),
      })
      .apply(x) as Tensor;
  }

  dense(x: Tensor, name: string, units: number, activation: 'relu' | 'linear' = 'linear'): Tensor {
    const inputs = x.shape[x.shape.length - 1] as number;
    this.charge(name, inputs * units + units, inputs * units);
    return tfl.layers.dense({ name, units, activation, kernelInitializer: this.kernel(name) }).apply(x) as Tensor;
  }

  /** Momentum 0.9 rather than Keras' 0.99: runs here are short, and the moving statistics must catch up within a few hundred steps. */
  bn(x: Tensor, name: string): Tensor {
    return tfl.layers.batchNormalization({ name, momentum: 0.9, epsilon: 1e-3 }).apply(x) as Tensor;
  }

  relu(x: Tensor, name: string, max?: 6): Tensor {
    return tfl.layers.reLU({ name, ...(max ? { maxValue: max } : {}) }).apply(x) as Tensor;
  }

  maxPool(x: Tensor, name: string): Tensor {
    return tfl.layers.maxPooling2d({ name, poolSize: 2, strides: 2, padding: 'valid' }).apply(x) as Tensor;
  }

  gap(x: Tensor, name = 'gap'): Tensor {
    return tfl.layers.globalAveragePooling2d({ name }).apply(x) as Tensor;
  }

  flatten(x: Tensor, name = 'flatten'): Tensor {
    return tfl.layers.flatten({ name }).apply(x) as Tensor;
  }

  dropout(x: Tensor, name: string, rate: number): Tensor {
    if (!rate) return x;
    return tfl.layers.dropout({ name, rate, seed: layerSeed(this.seed, name) }).apply(x) as Tensor;
  }

  add(a: Tensor, b: Tensor, name: string): Tensor {
    return tfl.layers.add({ name }).apply([a, b]) as Tensor;
  }

  /** Logits: a linear Dense. Softmax is for losses, metrics and the exporter. */
  logits(x: Tensor, numClasses: number): Tensor {
    return this.dense(x, 'logits', numClasses, 'linear');
  }
}

export function checkDropout(rate: number | undefined): number {
  const r = rate ?? 0;
  if (!(r >= 0 && r < 1)) throw new AppError('INVALID_ARGS', `Dropout must be at least 0 and below 1 (got ${r}).`);
  return r;
}
