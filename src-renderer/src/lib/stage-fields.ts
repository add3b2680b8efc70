/**
 * What each knob of each stage means, in plain language, with a sensible range. The wizard renders
 * its forms from these descriptors; the recipe schema (src-shared/recipe.ts) enforces the limits.
 */
export type FieldKind = 'int' | 'number' | 'numbers' | 'select' | 'bool' | 'text' | 'texts';

export interface Field {
  key: string;
  label: string;
  kind: FieldKind;
  help: string;
  options?: { value: string; label: string }[];
  min?: number;
  max?: number;
  step?: number;
  /** A checkbox's state when the recipe leaves the field out (the schema's default). */
  default?: boolean;
  /** Shown only when this returns true for the stage's current values. */
  when?: (stage: Record<string, unknown>) => boolean;
}

const training: Field[] = [
  { key: 'epochs', label: 'Epochs', kind: 'int', min: 1, max: 1000, help: 'Passes over the training images. More epochs learn more but take longer; 10–20 is typical for Fashion-MNIST.' },
  { key: 'batchSize', label: 'Batch size', kind: 'int', min: 1, max: 4096, help: 'Images per training step. 64 is a good default; larger batches are faster per image but may need a larger learning rate.' },
  { key: 'optimizer.learningRate', label: 'Learning rate', kind: 'number', min: 1e-6, max: 1, step: 0.0001, help: 'How big each training step is. 0.001 suits Adam; if the loss jumps around, lower it.' },
];

export const stageFields: Record<string, Field[]> = {
  'train-teacher': [
    {
      key: 'model.template',
      label: 'Architecture',
      kind: 'select',
      options: [
        { value: 'lenet', label: 'LeNet-style CNN (small images)' },
        { value: 'mobilenet', label: 'MobileNet-style (depthwise-separable)' },
        { value: 'resnet', label: 'Small ResNet (residual blocks)' },
        { value: 'mlp', label: 'MLP (tabular data)' },
      ],
      help: 'The teacher is the large, accurate model the student learns from.',
    },
    { key: 'model.width', label: 'Width', kind: 'number', min: 0.03, max: 8, step: 0.25, help: 'Multiplies the number of channels or neurons in every layer. 1 is the standard size.' },
    ...training,
  ],
  distill: [
    {
      key: 'temperatures',
      label: 'Temperatures',
      kind: 'numbers',
      min: 0.5,
      max: 100,
      help: 'Temperature softens the teacher’s predictions so the student also learns which wrong answers are "almost right". 1 = no softening; 2–8 works for most models; above 20 the targets become nearly uniform. Several values are tried and the best on the validation images is kept.',
    },
    {
      key: 'alphas',
      label: 'Soft-target weight (α)',
      kind: 'numbers',
      min: 0,
      max: 1,
      help: 'How much the student listens to the teacher (α) versus the true labels (1 − α). 0.5–0.9 is typical; with few labels, use a high α.',
    },
    { key: 'control', label: 'Train a control', kind: 'bool', default: true, help: 'Also trains the same student from the same start on labels alone, with the same budget, so you see what distillation really gained. If it did not help, the control becomes the result.' },
    { key: 'labeledCount', label: 'Student labels for only N images', kind: 'int', min: 10, max: 10000000, help: 'The student sees the true label of only this many training images and learns the rest from the teacher’s predictions, while the teacher keeps every label (as when the teacher was trained elsewhere on more data). Leave empty to give the student every label.' },
    { key: 'seeds', label: 'Seeds', kind: 'numbers', min: 0, max: 2147483647, help: 'Train the control and every candidate once per seed (same starting weights for both within a seed). Two or three seeds show how much of the gain is real and how much is chance; empty = the run’s seed only.' },
    { key: 'cacheTeacher', label: 'Cache the teacher’s outputs', kind: 'bool', default: true, help: 'Runs the teacher once over the training images and reuses its predictions every epoch, which makes distillation nearly as fast as plain training. Turn off only if the images change between epochs.' },
    ...training,
  ],
  prune: [
    {
      key: 'method',
      label: 'Method',
      kind: 'select',
      options: [
        { value: 'magnitude', label: 'Magnitude (zero out small weights)' },
        { value: 'structured', label: 'Structured (remove whole filters and neurons)' },
      ],
      help: 'Magnitude pruning makes the file compress much better (gzip) but not faster on most phones; structured pruning makes the model genuinely smaller and faster.',
    },
    { key: 'targetSparsity', label: 'Target sparsity', kind: 'number', min: 0, max: 0.99, step: 0.05, help: 'Share of weights set to zero. 0.5–0.9 usually keeps accuracy if pruned gradually with fine-tuning.', when: (s) => s.method !== 'structured' },
    {
      key: 'schedule.kind',
      label: 'Schedule',
      kind: 'select',
      options: [
        { value: 'iterative', label: 'Iterative: prune part, fine-tune, repeat' },
        { value: 'polynomial', label: 'Polynomial: sparsity grows smoothly during training' },
        { value: 'one-shot', label: 'One shot (fast, loses more accuracy)' },
      ],
      help: 'Pruning gradually with fine-tuning in between keeps far more accuracy than removing everything at once.',
      when: (s) => s.method !== 'structured',
    },
    { key: 'scope', label: 'Threshold', kind: 'select', options: [{ value: 'layer', label: 'Per layer (every layer equally sparse)' }, { value: 'global', label: 'Global (one threshold for all layers)' }], help: 'Global lets layers with many small weights lose more; per layer is safer for small layers.', when: (s) => s.method !== 'structured' },
    { key: 'schedule.stepFraction', label: 'Share removed per step', kind: 'number', min: 0.05, max: 0.9, step: 0.05, help: 'Each step removes this share of the weights that remain, then fine-tunes.', when: (s) => s.method !== 'structured' && (s.schedule as { kind?: string } | undefined)?.kind === 'iterative' },
    { key: 'schedule.epochsPerStep', label: 'Fine-tune epochs per step', kind: 'int', min: 1, max: 100, help: 'Training between two pruning steps.', when: (s) => s.method !== 'structured' && (s.schedule as { kind?: string } | undefined)?.kind === 'iterative' },
    { key: 'schedule.rampShare', label: 'Share of fine-tuning spent pruning', kind: 'number', min: 0.05, max: 1, step: 0.05, help: 'The sparsity rises to the target over this share of the fine-tuning steps; the rest fine-tunes at the target so accuracy can recover (2/3 by default).', when: (s) => s.method !== 'structured' && (s.schedule as { kind?: string } | undefined)?.kind === 'polynomial' },
    { key: 'schedule.endStep', label: 'Reach the target at step', kind: 'int', min: 1, max: 10000000, help: 'Optimizer step (batch) at which the target sparsity is reached, instead of the share above; keep it before the end of fine-tuning so accuracy can recover. Leave empty to use the share.', when: (s) => s.method !== 'structured' && (s.schedule as { kind?: string } | undefined)?.kind === 'polynomial' },
    { key: 'norm', label: 'Rank channels by', kind: 'select', options: [{ value: 'l1', label: 'L1 norm' }, { value: 'l2', label: 'L2 norm' }], help: 'Channels with the smallest weights are removed first.', when: (s) => s.method === 'structured' },
    { key: 'skipLayers', label: 'Leave these layers alone', kind: 'texts', help: 'Layer names that are never pruned (for example the first convolution).' },
    { key: 'structuredFraction', label: 'Channels removed', kind: 'number', min: 0.05, max: 0.95, step: 0.05, help: 'Share of filters/neurons removed from each layer (the weakest by norm). 0.5 roughly halves the compute.', when: (s) => s.method === 'structured' },
    { key: 'fineTuneEpochs', label: 'Fine-tune epochs', kind: 'int', min: 0, max: 1000, help: 'Training after pruning to recover accuracy.' },
  ],
  quantize: [
    {
      key: 'mode',
      label: 'Precision',
      kind: 'select',
      options: [
        { value: 'int8', label: 'INT8 (post-training, 4× smaller, fastest on phones)' },
        { value: 'qat', label: 'INT8 with quantization-aware training (best INT8 accuracy)' },
        { value: 'dynamic', label: 'Dynamic range (INT8 weights, float math)' },
        { value: 'fp16', label: 'FP16 weights (2× smaller, for GPUs)' },
      ],
      help: 'INT8 stores weights and activations as 8-bit integers. Phones run it fastest, usually within a fraction of a point of float accuracy.',
    },
    { key: 'calibrationSamples', label: 'Calibration images', kind: 'int', min: 0, max: 100000, help: 'Training images used to measure the range of each layer’s outputs. 256 is usually enough; INT8 needs at least some.', when: (s) => s.mode === 'int8' || s.mode === 'qat' || s.mode === undefined },
    {
      key: 'observer',
      label: 'Range estimate',
      kind: 'select',
      options: [
        { value: 'minmax', label: 'Min–max' },
        { value: 'moving-average', label: 'Moving-average min–max' },
        { value: 'percentile', label: 'Percentile (ignores outliers)' },
        { value: 'mse', label: 'MSE-optimal (slowest, often best)' },
      ],
      help: 'How activation ranges are chosen from the calibration images.',
      when: (s) => s.mode === 'int8' || s.mode === 'qat' || s.mode === undefined,
    },
    { key: 'percentile', label: 'Percentile', kind: 'number', min: 90, max: 100, step: 0.01, help: 'Values beyond this percentile are clipped (99.99 is typical).', when: (s) => s.observer === 'percentile' },
    { key: 'perChannelDense', label: 'Per-channel dense layers', kind: 'bool', default: false, help: 'One scale per output neuron for dense layers too: a little more accurate, but older runtimes and some delegates reject it.' },
    { key: 'qatEpochs', label: 'QAT epochs', kind: 'int', min: 1, max: 100, help: 'Fine-tuning with simulated INT8 rounding.', when: (s) => s.mode === 'qat' },
    { key: 'sensitivity', label: 'Per-layer sensitivity', kind: 'bool', default: false, help: 'Quantizes one layer at a time and reports each one’s accuracy drop, so you know which layers to keep in float.' },
    { key: 'keepFloat', label: 'Keep in float (layer names)', kind: 'texts', help: 'Layers listed here stay in float32.' },
  ],
  export: [
    {
      key: 'precision',
      label: 'File precision',
      kind: 'select',
      options: [
        { value: 'auto', label: 'Follow the quantize stage' },
        { value: 'fp32', label: 'FP32' },
        { value: 'fp16', label: 'FP16 weights' },
        { value: 'int8-dynamic', label: 'Dynamic-range INT8' },
        { value: 'int8', label: 'Full INT8' },
      ],
      help: 'The .tflite file Android apps load.',
    },
    {
      key: 'io',
      label: 'Input/output type',
      kind: 'select',
      options: [
        { value: 'float32', label: 'Float (easiest for apps)' },
        { value: 'uint8', label: 'UINT8 raw pixels (drop-in for Android image classifiers)' },
        { value: 'int8', label: 'INT8 (for integer-only accelerators)' },
      ],
      help: 'Full INT8 files only. Float input/output adds tiny quantize/dequantize steps at the edges; uint8 takes the camera’s 0–255 pixels as they are (the normalization is inside the file and stated in its metadata, like Teachable Machine’s quantized export); int8 I/O needs the app to quantize its input.',
      when: (s) => s.precision === 'int8' || s.precision === 'auto',
    },
    { key: 'desktopAccuracy', label: 'Measure the file’s accuracy', kind: 'bool', default: true, help: 'Runs the exact .tflite file on the whole test split with the TFLite runtime on this computer.' },
  ],
  profile: [
    { key: 'targets', label: 'Devices', kind: 'texts', help: '`host` is this computer; add phone serials from the Devices page.' },
    { key: 'threads', label: 'Threads', kind: 'int', min: 1, max: 16, help: 'CPU threads the runtime may use on the phone.' },
    { key: 'runs', label: 'Runs per trial', kind: 'int', min: 1, max: 100000, help: 'Timed inferences per trial.' },
    { key: 'trials', label: 'Trials', kind: 'int', min: 1, max: 50, help: 'Independent repeats; the median of trial means is reported with an interval that covers it with 95 % from 6 trials on (fewer trials cover less, and the result says how much).' },
  ],
};

export function getPath(obj: Record<string, unknown>, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

export function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) {
    if (!o[p] || typeof o[p] !== 'object') o[p] = {};
    o = o[p] as Record<string, unknown>;
  }
  if (value === undefined) delete o[parts[parts.length - 1]];
  else o[parts[parts.length - 1]] = value;
}
