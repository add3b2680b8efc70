/**
 * Recipes that ship with the app. Each is a plain recipe input (defaults fill the rest), so the
 * wizard can start from one and the CLI can run one by name.
 */
import type { RecipeInput } from './recipe';

export interface Preset {
  id: string;
  title: string;
  /** One or two sentences for people: what it does and when to pick it. */
  summary: string;
  recipe: RecipeInput;
}

export const presets: Preset[] = [
  {
    id: 'quick-check',
    title: 'One-minute check: every stage on a small slice',
    summary:
      'Runs every stage (teacher, distillation with its control, INT8, .tflite export, profiling on this computer) on 1,500 Fashion-MNIST images for one epoch each, to check that this computer is set up. The accuracy is low by design; use the demo or the other presets for real results.',
    recipe: {
      name: 'Quick check',
      seed: 7,
      dataset: { kind: 'fashion-mnist', limitTrain: 1_500, limitTest: 300 },
      stages: [
        { kind: 'train-teacher', model: { template: 'lenet', width: 0.5 }, epochs: 1 },
        { kind: 'distill', student: { width: 0.25 }, temperatures: [4], epochs: 1 },
        { kind: 'quantize', mode: 'int8' },
        { kind: 'export' },
        { kind: 'profile', targets: ['host'], trials: 2, runs: 20, warmup: 2 },
      ],
    },
  },
  {
    id: 'demo',
    title: 'Quick demo: teacher → ¼-width student → INT8 .tflite',
    summary:
      'Trains a small CNN teacher on part of Fashion-MNIST, distills it into a student with a quarter of the channels (trying T = 2 and 4, beside a control trained on labels alone), quantizes it to INT8 and exports a .tflite file. Takes a few minutes.',
    recipe: {
      name: 'Fashion-MNIST demo',
      seed: 42,
      dataset: { kind: 'fashion-mnist', limitTrain: 12_000, limitTest: 2_000 },
      stages: [
        { kind: 'train-teacher', model: { template: 'lenet', width: 1 }, epochs: 3 },
        { kind: 'distill', student: { width: 0.25 }, temperatures: [2, 4], epochs: 3 },
        { kind: 'quantize', mode: 'int8' },
        { kind: 'export' },
        { kind: 'profile', targets: ['host'], trials: 3, runs: 50 },
      ],
    },
  },
  {
    id: 'distill-sweep',
    title: 'Distillation with a temperature sweep',
    summary:
      'Full Fashion-MNIST. Tries temperatures 1, 2, 4, 8 and 16, keeps the best on the validation split, and compares it with the same student trained on labels alone.',
    recipe: {
      name: 'Temperature sweep',
      dataset: { kind: 'fashion-mnist' },
      stages: [
        { kind: 'train-teacher', model: { template: 'lenet', width: 1 }, epochs: 15 },
        { kind: 'distill', student: { width: 0.25 }, temperatures: [1, 2, 4, 8, 16], epochs: 20 },
        { kind: 'export' },
      ],
    },
  },
  {
    id: 'few-labels',
    title: 'Few labels, many images',
    summary:
      'The teacher knows all 60,000 labels; the student sees labels for only 3,000 images and learns the rest from the teacher’s soft targets. This is where distillation helps most.',
    recipe: {
      name: 'Few labels (3,000)',
      dataset: { kind: 'fashion-mnist' },
      stages: [
        { kind: 'train-teacher', model: { template: 'lenet', width: 1 }, epochs: 15 },
        { kind: 'distill', student: { width: 0.25 }, labeledCount: 3_000, temperatures: [2, 4, 8], alphas: [0.9], epochs: 20 },
        { kind: 'export' },
      ],
    },
  },
  {
    id: 'feature-hints',
    title: 'Feature hints: the student also copies the teacher’s inner layers',
    summary:
      'Besides the teacher’s predictions, the student learns to reproduce the teacher’s intermediate features (conv2 and dense1, through small adapters). Helps deeper students that struggle to follow the teacher from its outputs alone.',
    recipe: {
      name: 'Feature-hint distillation',
      dataset: { kind: 'fashion-mnist', limitTrain: 20_000, limitTest: 5_000 },
      stages: [
        { kind: 'train-teacher', model: { template: 'lenet', width: 1 }, epochs: 8 },
        {
          kind: 'distill',
          student: { width: 0.25 },
          temperatures: [4],
          epochs: 8,
          features: { pairs: [{ teacher: 'conv2', student: 'conv2' }, { teacher: 'dense1', student: 'dense1' }], beta: 1, adapter: 'auto', phase: 'joint' },
        },
        { kind: 'export' },
      ],
    },
  },
  {
    id: 'self-distill',
    title: 'Self-distillation (no teacher)',
    summary:
      'No teacher needed: the student learns from its own softened predictions of the previous epoch (progressive self-distillation), compared with the same model trained on labels alone.',
    recipe: {
      name: 'Self-distillation',
      dataset: { kind: 'fashion-mnist', limitTrain: 20_000, limitTest: 5_000 },
      stages: [
        { kind: 'distill', student: { template: 'lenet', width: 0.25 }, temperatures: [2], epochs: 8, self: { mode: 'progressive', maxAlpha: 0.8 } },
        { kind: 'export' },
      ],
    },
  },
  {
    id: 'smallest',
    title: 'Smallest: distill → prune 90 % → INT8',
    summary:
      'Chains distillation, gradual magnitude pruning to 90 % sparsity and INT8 quantization, for a .tflite file far smaller than the teacher’s. Accuracy is measured on the exported file.',
    recipe: {
      name: 'Distill + prune + INT8',
      dataset: { kind: 'fashion-mnist' },
      stages: [
        { kind: 'train-teacher', model: { template: 'lenet', width: 1 }, epochs: 15 },
        { kind: 'distill', student: { width: 0.5 }, temperatures: [4], alphas: [0.7], epochs: 15 },
        // As measured by bench/compress.bench.ts (its chain reads these settings from here).
        { kind: 'prune', method: 'magnitude', targetSparsity: 0.9, scope: 'global', schedule: { kind: 'polynomial', rampShare: 2 / 3 }, fineTuneEpochs: 6, optimizer: { learningRate: 5e-4 } },
        { kind: 'quantize', mode: 'int8' },
        { kind: 'export' },
      ],
    },
  },
];

export function presetById(id: string): Preset | undefined {
  return presets.find((p) => p.id === id);
}
