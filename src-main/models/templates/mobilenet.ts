/**
 * MobileNet-style CNN: Conv3×3-BN-ReLU6 stem, then depthwise-separable blocks (DepthwiseConv3×3-BN-
 * ReLU6, Conv1×1-BN-ReLU6), GlobalAveragePooling2D, Dense logits. Convs before BN have no bias
 * (BN's beta is the bias; the exporter folds BN into the conv).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import { Builder, type TemplateBase, checkBase, checkDropout, scaled } from './common';

export interface MobilenetSpec extends TemplateBase {
  template: 'mobilenet';
  /** Stem filters at width 1. Default 32. */
  stem?: number;
  /** Stride of the stem conv. Default 1 (small inputs like 28×28); use 2 for 96 px and up. */
  stemStride?: 1 | 2;
  /** Separable blocks at width 1: pointwise filters and depthwise stride. */
  blocks?: { filters: number; stride: 1 | 2 }[];
  /** Dropout before the classifier. Default 0. */
  dropout?: number;
}

export const DEFAULT_MOBILENET_BLOCKS: { filters: number; stride: 1 | 2 }[] = [
  { filters: 64, stride: 1 },
  { filters: 128, stride: 2 },
  { filters: 128, stride: 1 },
  { filters: 256, stride: 2 },
  { filters: 256, stride: 1 },
];

export function buildMobilenet(spec: MobilenetSpec): tfl.LayersModel {
  const { width, seed } = checkBase('mobilenet', spec, true);
  const blocks = spec.blocks ?? DEFAULT_MOBILENET_BLOCKS;
  if (blocks.some((bl) => !Number.isInteger(bl.filters) || bl.filters < 1 || (bl.stride !== 1 && bl.stride !== 2))) {
    throw new AppError('INVALID_ARGS', 'Each MobileNet block needs a positive whole number of filters and a stride of 1 or 2.');
  }
  const dropout = checkDropout(spec.dropout);
  const b = new Builder(seed);
  const input = b.input(spec.inputShape);
  let x = b.conv(input, 'stem_conv', scaled(spec.stem ?? 32, width), { stride: spec.stemStride ?? 1, bias: false });
  x = b.relu(b.bn(x, 'stem_bn'), 'stem_relu', 6);
  blocks.forEach((bl, i) => {
    const p = `block${i + 1}`;
    x = b.depthwise(x, `${p}_dw`, { stride: bl.stride });
    x = b.relu(b.bn(x, `${p}_dw_bn`), `${p}_dw_relu`, 6);
    x = b.conv(x, `${p}_pw`, scaled(bl.filters, width), { kernel: 1, bias: false });
    x = b.relu(b.bn(x, `${p}_pw_bn`), `${p}_pw_relu`, 6);
  });
  x = b.gap(x);
  x = b.dropout(x, 'dropout', dropout);
  return tfl.model({ inputs: input, outputs: b.logits(x, spec.numClasses), name: spec.name ?? 'mobilenet' });
}
