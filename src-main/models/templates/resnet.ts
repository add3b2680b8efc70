/**
 * Small ResNet (CIFAR-style, He et al. 2016): Conv3×3-BN-ReLU stem, stages of basic blocks
 * (Conv3×3-BN-ReLU-Conv3×3-BN, Add shortcut, ReLU), GlobalAveragePooling2D, Dense logits. The first
 * block of a stage halves the resolution; where the shape changes the shortcut is a 1×1 conv
 * projection + BN (option B), elsewhere the identity (or always a projection with `projection: 'all'`).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import { Builder, type Tensor, type TemplateBase, checkBase, checkDropout, scaled } from './common';

export interface ResnetSpec extends TemplateBase {
  template: 'resnet';
  /** Stem filters at width 1. Default 16. */
  stem?: number;
  /** Filters of each stage at width 1. Default [16, 32, 64]. */
  stages?: number[];
  /** Basic blocks per stage. Default 1 (an 8-layer ResNet); 2 gives ResNet-14, 3 ResNet-20. */
  blocksPerStage?: number;
  /** 'needed' (default): 1×1 projection only where the shape changes; 'all': on every block. */
  projection?: 'needed' | 'all';
  dropout?: number;
}

function basicBlock(b: Builder, x: Tensor, name: string, filters: number, stride: 1 | 2, projectAll: boolean): Tensor {
  const inChannels = x.shape[x.shape.length - 1] as number;
  let y = b.conv(x, `${name}_conv1`, filters, { stride, bias: false });
  y = b.relu(b.bn(y, `${name}_bn1`), `${name}_relu1`);
  y = b.conv(y, `${name}_conv2`, filters, { bias: false });
  y = b.bn(y, `${name}_bn2`);
  let shortcut = x;
  if (projectAll || stride !== 1 || inChannels !== filters) {
    shortcut = b.bn(b.conv(x, `${name}_proj`, filters, { kernel: 1, stride, bias: false }), `${name}_proj_bn`);
  }
  return b.relu(b.add(y, shortcut, `${name}_add`), `${name}_out`);
}

export function buildResnet(spec: ResnetSpec): tfl.LayersModel {
  const { width, seed } = checkBase('resnet', spec, true);
  const stages = spec.stages ?? [16, 32, 64];
  const perStage = spec.blocksPerStage ?? 1;
  if (!Number.isInteger(perStage) || perStage < 1 || perStage > 8) throw new AppError('INVALID_ARGS', `blocksPerStage must be a whole number from 1 to 8 (got ${perStage}).`);
  if (stages.some((s) => !Number.isInteger(s) || s < 1)) throw new AppError('INVALID_ARGS', `Stage filters must be positive whole numbers (got [${stages.join(', ')}]).`);
  const dropout = checkDropout(spec.dropout);
  const b = new Builder(seed);
  const input = b.input(spec.inputShape);
  let x = b.conv(input, 'stem_conv', scaled(spec.stem ?? 16, width), { bias: false });
  x = b.relu(b.bn(x, 'stem_bn'), 'stem_relu');
  stages.forEach((filters, s) => {
    for (let k = 0; k < perStage; k++) {
      const stride = s > 0 && k === 0 ? 2 : 1;
      x = basicBlock(b, x, `stage${s + 1}_block${k + 1}`, scaled(filters, width), stride, spec.projection === 'all');
    }
  });
  x = b.gap(x);
  x = b.dropout(x, 'dropout', dropout);
  return tfl.model({ inputs: input, outputs: b.logits(x, spec.numClasses), name: spec.name ?? 'resnet' });
}
