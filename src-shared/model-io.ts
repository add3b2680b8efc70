/**
 * How a model expects its input and what its outputs mean: the one description every model reader
 * (TF.js Layers, Keras .h5/.keras, float .tflite), the data loader, the student builder and the
 * .tflite metadata writer share. No Node, no DOM.
 *
 * Normalization follows the TFLite metadata schema's NormalizationOptions: the model's input is
 * `(raw − mean[c]) / std[c]` where `raw` is the pixel value as decoded, 0–255. So:
 * - Teachable Machine / MobileNet (x / 127.5 − 1, range [-1, 1]):  mean 127.5, std 127.5;
 * - PocketBench templates on images ([0, 1]):                       mean 0,     std 255;
 * - a model fed raw 0–255 floats:                                    mean 0,     std 1.
 * A single value applies to every channel. Tabular models carry no image convention (`kind:
 * 'features'`, standardization lives with the dataset).
 */
export interface ImageInputConvention {
  kind: 'image';
  /** [height, width] the model takes. */
  size: [number, number];
  channels: 1 | 3;
  /** Model input = (raw 0–255 − mean) / std, per channel (length 1 or `channels`). */
  normalization: { mean: number[]; std: number[] };
  /** The exported file's input tensor type; uint8 files take raw pixels and quantize inside. */
  dtype: 'float32' | 'uint8';
}

export interface FeatureInputConvention {
  kind: 'features';
  /** Number of input features. */
  features: number;
}

export type InputConvention = ImageInputConvention | FeatureInputConvention;

/** PocketBench's own image templates take [0, 1] pixels. */
export const UNIT_RANGE_NORMALIZATION = { mean: [0], std: [255] } as const;
/** Teachable Machine and Keras MobileNet preprocessing: x / 127.5 − 1. */
export const SIGNED_UNIT_NORMALIZATION = { mean: [127.5], std: [127.5] } as const;

/** The value range a normalization maps raw 0–255 pixels to, per channel. */
export function normalizedRange(n: { mean: number[]; std: number[] }, channel = 0): [number, number] {
  const mean = n.mean[Math.min(channel, n.mean.length - 1)];
  const std = n.std[Math.min(channel, n.std.length - 1)];
  const a = (0 - mean) / std;
  const b = (255 - mean) / std;
  return a <= b ? [a, b] : [b, a];
}

/** Where an imported model came from. */
export type ModelSourceFormat = 'tfjs-layers' | 'keras-h5' | 'keras-v3' | 'tflite' | 'pocketbench';

/**
 * What PocketBench knows about a model beyond its weights, stored with every TF.js artifact
 * (model.json `userDefinedMetadata.pocketbench`) and carried from teacher to student to .tflite.
 */
export interface ModelMeta {
  /** Class names in output order, when known. */
  labels: string[] | null;
  input: InputConvention;
  /** Whether the stored model ends in a softmax or gives logits. */
  output: 'logits' | 'probabilities';
  /** Set on imported models: the original file and its format. */
  importedFrom?: { format: ModelSourceFormat; file: string; contentHash: string };
}
