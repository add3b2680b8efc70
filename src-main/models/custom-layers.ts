/**
 * The two layers PocketBench adds to TF.js Layers, for operators real image-classifier `.tflite`
 * files contain that TF.js has no layer for (MobileNetV3 / EfficientNet-style exports):
 *
 * - `ScaleShift`: y = x · scale + shift per channel (last axis). A MUL / ADD / SUB / DIV by a constant
 *   in a `.tflite` (a Keras `Rescaling` at the input, the `+ 3` and `· 1/6` of a hard sigmoid, a
 *   BatchNormalization the converter could not fold). The exporter writes it like a BatchNormalization:
 *   folded into the convolution before it when it can be, else a 1×1 DEPTHWISE_CONV_2D (rank 4) or
 *   MUL + ADD (rank 2).
 * - `HardSwish`: y = x · relu6(x + 3) / 6, TFLite's HARD_SWISH (written back as that operator).
 *
 * Both are registered with tfjs' serialization on import of this module, so `loadModel`, the
 * exporter and `modelFromJSON` can rebuild a model that holds them: import this module (for its side
 * effect) wherever such a model may be deserialised.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

type Kwargs = Record<string, unknown>;
type Shape = (number | null)[];

function first(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0] : inputs;
}

export interface ScaleShiftArgs {
  name?: string;
  /** Whether training may change scale and shift (false for fixed preprocessing constants). */
  trainable?: boolean;
}

export class ScaleShift extends tfl.layers.Layer {
  static className = 'ScaleShift';
  private scale: tfl.LayerVariable | null = null;
  private shift: tfl.LayerVariable | null = null;

  constructor(args: ScaleShiftArgs = {}) {
    super(args);
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const channels = shape[shape.length - 1];
    if (channels == null) throw new Error(`ScaleShift "${this.name}" needs a known channel count.`);
    this.scale = this.addWeight('scale', [channels], 'float32', tfl.initializers.ones());
    this.shift = this.addWeight('shift', [channels], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => tf.add(tf.mul(first(inputs), this.scale!.read()), this.shift!.read()));
  }
}

export class HardSwish extends tfl.layers.Layer {
  static className = 'HardSwish';

  constructor(args: { name?: string } = {}) {
    super(args);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = first(inputs);
      return tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6));
    });
  }
}

tf.serialization.registerClass(ScaleShift);
tf.serialization.registerClass(HardSwish);

/** Class names of the layers above (for the supported-layer list). */
export const CUSTOM_LAYER_CLASSES = [ScaleShift.className, HardSwish.className] as const;
