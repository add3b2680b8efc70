/** Architecture templates. Every one outputs logits and takes a width multiplier and a seed. */
import type * as tfl from '@tensorflow/tfjs-layers';
import { AppError } from '../../../src-shared/errors';
import { buildLenet, type LenetSpec } from './lenet';
import { buildMlp, type MlpSpec } from './mlp';
import { buildMobilenet, type MobilenetSpec } from './mobilenet';
import { buildResnet, type ResnetSpec } from './resnet';

export type { LenetSpec, MlpSpec, MobilenetSpec, ResnetSpec };
export type { TemplateBase } from './common';
export { DEFAULT_MOBILENET_BLOCKS } from './mobilenet';

export type TemplateSpec = MlpSpec | LenetSpec | MobilenetSpec | ResnetSpec;
export type TemplateName = TemplateSpec['template'];

export const TEMPLATES: { name: TemplateName; title: string; imageOnly: boolean; description: string }[] = [
  { name: 'mlp', title: 'MLP', imageOnly: false, description: 'Dense layers; for tables, or small images flattened.' },
  { name: 'lenet', title: 'LeNet-style CNN', imageOnly: true, description: 'Conv + max-pool stages, then dense layers. Small and fast.' },
  { name: 'mobilenet', title: 'MobileNet-style CNN', imageOnly: true, description: 'Depthwise-separable convolutions with BatchNorm and ReLU6; few MACs per parameter.' },
  { name: 'resnet', title: 'Small ResNet', imageOnly: true, description: 'Residual blocks with BatchNorm; deeper, trains stably.' },
];

/**
 * Build a template. Needs an initialised backend (`await initBackend()` from `src-main/tf`).
 * Same spec (including seed) -> same layer names and same initial weights.
 */
export function buildTemplate(spec: TemplateSpec): tfl.LayersModel {
  switch (spec.template) {
    case 'mlp':
      return buildMlp(spec);
    case 'lenet':
      return buildLenet(spec);
    case 'mobilenet':
      return buildMobilenet(spec);
    case 'resnet':
      return buildResnet(spec);
    default:
      throw new AppError('INVALID_ARGS', `Unknown template "${(spec as { template: string }).template}"; choose one of ${TEMPLATES.map((t) => t.name).join(', ')}.`);
  }
}
