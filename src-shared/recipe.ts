/**
 * A recipe: the JSON document that describes a run. One schema, used by the UI (inline errors),
 * the CLI (`pocketbench run recipe.json`) and the pipeline. Every limit carries a message that
 * names the allowed range, so a bad value reads as `stages.1.temperatures.0: must be between 0.5 and 100`.
 */
import { z } from 'zod';
import { explainIssues } from './errors';

const int = (min: number, max: number, what = 'a whole number') =>
  z
    .number({ error: `must be ${what} from ${min} to ${max}` })
    .int(`must be ${what} from ${min} to ${max}`)
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);
const num = (min: number, max: number) =>
  z
    .number({ error: `must be a number between ${min} and ${max}` })
    .min(min, `must be between ${min} and ${max}`)
    .max(max, `must be between ${min} and ${max}`);

export const templateNames = ['mlp', 'lenet', 'mobilenet', 'resnet'] as const;

/** The most values one input sample may have (1024×1024 pixels × 4 channels): the work of every model grows with it. */
export const MAX_INPUT_ELEMENTS = 1024 * 1024 * 4;

/** One sample's shape ([height, width, channels] or [features]), bounded so no request builds an unbounded model. */
export const inputShapeSchema = z
  .array(int(1, 100_000), { error: 'must be a list of sizes, e.g. [28, 28, 1]' })
  .min(1, 'give at least one size')
  .max(4, 'at most 4 sizes')
  .refine((s) => s.reduce((a, b) => a * b, 1) <= MAX_INPUT_ELEMENTS, {
    message: `must hold at most ${MAX_INPUT_ELEMENTS.toLocaleString('en')} values per sample (1024×1024×4)`,
  });

/**
 * Template options (models/templates/*), every one bounded: an unbounded layer count or size would
 * build a model too large to summarise, time or train. Unknown options are refused by name.
 */
export const templateOptionsSchema = z
  .strictObject(
    {
    hidden: z.array(int(1, 16_384)).min(1).max(16, 'at most 16 hidden layers'),
    dense: z.array(int(1, 16_384)).max(8, 'at most 8 dense layers'),
    filters: z.array(int(1, 2048)).min(1).max(8, 'at most 8 conv stages'),
    kernelSize: int(1, 15),
    padding: z.enum(['valid', 'same'], { error: "must be 'valid' or 'same'" }),
    dropout: num(0, 0.95),
    stem: int(1, 2048),
    stemStride: z.union([z.literal(1), z.literal(2)], { error: 'must be 1 or 2' }),
    blocks: z.array(z.object({ filters: int(1, 4096), stride: z.union([z.literal(1), z.literal(2)], { error: 'must be 1 or 2' }) }).strict()).min(1).max(32, 'at most 32 blocks'),
    stages: z.array(int(1, 2048)).min(1).max(8, 'at most 8 stages'),
    blocksPerStage: int(1, 16),
    projection: z.enum(['needed', 'all'], { error: "must be 'needed' or 'all'" }),
    },
    {
      error: (iss) =>
        iss.code === 'unrecognized_keys'
          ? `unknown option ${iss.keys.join(', ')} (allowed: hidden, dense, filters, kernelSize, padding, dropout, stem, stemStride, blocks, stages, blocksPerStage, projection)`
          : undefined,
    },
  )
  .partial();
export type TemplateName = (typeof templateNames)[number];

export const optimizerSchema = z
  .object({
    name: z.enum(['adam', 'sgd'], { error: 'must be "adam" or "sgd"' }).default('adam'),
    learningRate: num(1e-6, 1).default(1e-3),
    momentum: num(0, 0.999).default(0.9),
  })
  .default({ name: 'adam', learningRate: 1e-3, momentum: 0.9 });

export const lrScheduleSchema = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('constant') }),
    z.object({ kind: z.literal('cosine'), minFactor: num(0, 1).default(0.01) }),
    z.object({ kind: z.literal('step'), everyEpochs: int(1, 1000), gamma: num(0.01, 1).default(0.5) }),
  ])
  .default({ kind: 'constant' });

export const earlyStoppingSchema = z.object({ patience: int(1, 100).default(3), minDelta: num(0, 1).default(0) }).optional();

const training = {
  epochs: int(1, 1000).default(10),
  batchSize: int(1, 4096).default(64),
  optimizer: optimizerSchema,
  lrSchedule: lrScheduleSchema,
  earlyStopping: earlyStoppingSchema,
};

export const modelSpecSchema = z.union([
  z.object({
    template: z.enum(templateNames, { error: `must be one of ${templateNames.join(', ')}` }),
    width: num(0.03, 8).default(1),
    /** Template-specific options (for example MLP hidden sizes). */
    options: templateOptionsSchema.optional(),
  }),
  z.object({ path: z.string().min(1, 'give the path of a TF.js model.json') }),
]);
export type ModelSpec = z.infer<typeof modelSpecSchema>;

const split = z
  .object({ validation: num(0.01, 0.5).default(0.1), test: num(0.01, 0.5).default(0.1) })
  .default({ validation: 0.1, test: 0.1 });

/** Labels for only this many training images (seeded, stratified); the rest are used unlabeled. */
const labeledCount = int(10, 10_000_000).optional();

export const datasetSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('fashion-mnist'),
    /** Folder holding the four IDX files; default: the Debian package's folder. */
    path: z.string().optional(),
    validationFraction: num(0.01, 0.5).default(0.1),
    labeledCount,
    /** Use only the first N training / test images (quick runs, tests). */
    limitTrain: int(10, 60_000).optional(),
    limitTest: int(10, 10_000).optional(),
  }),
  z.object({
    kind: z.literal('image-folder'),
    path: z.string().min(1, 'give the folder that holds one subfolder per class'),
    /** [height, width] the run's models (the student) take; images are resized to it on the fly. */
    imageSize: z.tuple([int(4, 1024), int(4, 1024)]).optional(),
    channels: z.union([z.literal(1), z.literal(3)]).optional(),
    /** [height, width] the pixels are decoded to and kept at (uint8): the largest model's size, e.g. an imported 224-px teacher. Default: imageSize. */
    decodeSize: z.tuple([int(4, 1024), int(4, 1024)]).optional(),
    /** The run's input normalization, (raw 0–255 − mean) / std; default mean 0, std 255 ([0, 1]). An imported teacher's is carried to the student this way. */
    normalization: z
      .object({
        mean: z.array(num(-1e6, 1e6)).min(1, 'give one mean, or one per channel').max(3, 'at most one mean per channel (3)'),
        std: z.array(num(1e-6, 1e6)).min(1, 'give one std, or one per channel').max(3, 'at most one std per channel (3)'),
      })
      .optional(),
    /** The images have no labels: distill on a teacher's soft targets alone and report fidelity (top-1 agreement with the teacher). */
    unlabeled: z.boolean().optional(),
    split,
    labeledCount,
  }),
  z.object({
    kind: z.literal('csv'),
    path: z.string().min(1, 'give the path of the CSV file'),
    labelColumn: z.string().min(1, 'name the column that holds the labels'),
    split,
    labeledCount,
  }),
]);
export type DatasetSpec = z.infer<typeof datasetSchema>;

export const trainTeacherStage = z.object({
  kind: z.literal('train-teacher'),
  model: modelSpecSchema.default({ template: 'lenet', width: 1 }),
  augment: z.boolean().default(false),
  ...training,
});

export const loadTeacherStage = z.object({
  kind: z.literal('load-teacher'),
  /** A model file (TF.js model.json, Keras .h5 or .keras, or a folder holding one), or an artifact already in the history. */
  path: z.string().optional(),
  artifactId: int(1, Number.MAX_SAFE_INTEGER).optional(),
});

export const distillStage = z.object({
  kind: z.literal('distill'),
  /** The student; its template defaults to the teacher's. */
  student: z.object({ template: z.enum(templateNames).optional(), width: num(0.03, 8).default(0.25), options: templateOptionsSchema.optional() }).default({ width: 0.25 }),
  /** Temperatures to try; the best on the validation split wins. */
  temperatures: z.array(num(0.5, 100)).min(1, 'give at least one temperature').max(12, 'at most 12 temperatures').default([1, 2, 4, 8, 16]),
  /** Weight of the soft-target loss; 1 − alpha goes to the labels. Several values are swept like temperatures. */
  alphas: z.array(num(0, 1)).min(1).max(6).default([0.7]),
  /** Also train the same student from the same start on labels alone, with the same budget. */
  control: z.boolean().default(true),
  /** More seeds give the gain with its spread. */
  seeds: z.array(int(0, 2 ** 31 - 1)).max(10).optional(),
  cacheTeacher: z.boolean().default(true),
  /**
   * The student sees labels for only this many training images (seeded, stratified); the teacher's
   * soft targets cover every image. Unlike the dataset's `labeledCount`, earlier stages (the teacher)
   * keep all labels: a teacher trained elsewhere on far more labelled data.
   */
  labeledCount: int(10, 10_000_000).optional(),
  features: z
    .object({
      pairs: z.array(z.object({ teacher: z.string().min(1), student: z.string().min(1) })).min(1, 'give at least one (teacher layer, student layer) pair'),
      beta: num(0, 1000).default(1),
      adapter: z.enum(['auto', 'dense', 'conv1x1']).default('auto'),
      /** `hint-first`: a hint-only phase, then response distillation; `joint`: both losses together. */
      phase: z.enum(['hint-first', 'joint']).default('joint'),
      hintEpochs: int(1, 100).default(2),
    })
    .optional(),
  self: z
    .object({
      mode: z.enum(['progressive', 'aux-heads']),
      /** Progressive: weight of last epoch's predictions, ramped up to this value. */
      maxAlpha: num(0, 1).default(0.8),
      /** Aux heads: names of the layers that get an auxiliary classifier. */
      heads: z.array(z.string()).max(8).optional(),
    })
    .optional(),
  ...training,
});

const pruneSchedule = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('one-shot') }),
    z.object({ kind: z.literal('iterative'), stepFraction: num(0.05, 0.9).default(0.5), epochsPerStep: int(1, 100).default(2) }),
    z.object({
      kind: z.literal('polynomial'),
      initialSparsity: num(0, 0.99).default(0),
      beginStep: int(0, 10_000_000).default(0),
      /** Optimizer step at which the target is reached; absent: at `rampShare` of the fine-tuning steps. */
      endStep: int(1, 10_000_000).optional(),
      /** Without `endStep`: the share of the fine-tuning steps spent ramping up; the rest fine-tunes at the target. */
      rampShare: num(0.05, 1).default(2 / 3),
      power: num(1, 10).default(3),
      /** Steps between mask updates; absent: about 30 updates along the ramp. */
      frequency: int(1, 100_000).optional(),
    }),
  ])
  .default({ kind: 'iterative', stepFraction: 0.5, epochsPerStep: 2 });

export const pruneStage = z.object({
  kind: z.literal('prune'),
  method: z.enum(['magnitude', 'structured']).default('magnitude'),
  /** Magnitude: share of weights set to zero. */
  targetSparsity: num(0, 0.99).default(0.8),
  scope: z.enum(['layer', 'global']).default('layer'),
  schedule: pruneSchedule,
  /** Structured: share of filters/neurons removed per layer, ranked by norm. */
  structuredFraction: num(0.05, 0.95).default(0.5),
  norm: z.enum(['l1', 'l2']).default('l1'),
  skipLayers: z.array(z.string()).default([]),
  fineTuneEpochs: int(0, 1000).default(2),
  batchSize: int(1, 4096).default(64),
  optimizer: optimizerSchema,
});

export const quantizeStage = z.object({
  kind: z.literal('quantize'),
  /** int8: post-training full-integer; qat: quantization-aware fine-tuning, then int8; dynamic: int8 weights only; fp16: half-precision weights. */
  mode: z.enum(['int8', 'qat', 'dynamic', 'fp16']).default('int8'),
  calibrationSamples: int(0, 100_000).default(256),
  observer: z.enum(['minmax', 'moving-average', 'percentile', 'mse']).default('minmax'),
  percentile: num(90, 100).default(99.99),
  qatEpochs: int(1, 100).default(2),
  /** Layers kept in float (by name). */
  keepFloat: z.array(z.string()).default([]),
  perChannelDense: z.boolean().default(false),
  /** Quantize one layer at a time and report each one's accuracy drop. */
  sensitivity: z.boolean().default(false),
  batchSize: int(1, 4096).default(64),
  optimizer: optimizerSchema,
});

export const exportStage = z.object({
  kind: z.literal('export'),
  /** `auto` follows the quantize stage (fp32 when there is none). */
  precision: z.enum(['auto', 'fp32', 'fp16', 'int8-dynamic', 'int8']).default('auto'),
  /** Full INT8 only: `uint8` takes raw 0–255 pixels (the drop-in form an Android image classifier feeds). */
  io: z.enum(['float32', 'int8', 'uint8']).default('float32'),
  /** Accuracy of the exact .tflite file on the whole test split, with LiteRT on this computer. */
  desktopAccuracy: z.boolean().default(true),
});

export const profileStage = z.object({
  kind: z.literal('profile'),
  /** `host` (this computer) and/or ADB serials. */
  targets: z.array(z.string().min(1)).min(1, 'pick at least one device').default(['host']),
  threads: int(1, 16).default(4),
  runs: int(1, 100_000).default(50),
  warmup: int(0, 10_000).default(5),
  trials: int(1, 50).default(3),
  xnnpack: z.boolean().default(true),
  gpu: z.boolean().default(false),
  nnapi: z.boolean().default(false),
  opProfiling: z.boolean().default(false),
});

/** Precisions a search tries: `int8-mixed` is full INT8 with the most sensitive layers kept in float. */
export const searchPrecisions = ['fp32', 'fp16', 'int8-dynamic', 'int8', 'int8-mixed'] as const;
export type SearchPrecision = (typeof searchPrecisions)[number];

/**
 * "Find the best model": a search over students of the teacher in `slots.teacher` (see
 * src-main/compress/search). Budget figures are limits; accuracy and fidelity drops are in points
 * (1 = one percentage point below the teacher's FP32 .tflite on the validation split).
 */
export const searchStage = z.object({
  kind: z.literal('search'),
  /** `host` (this computer) or an ADB serial. */
  target: z.string().min(1, 'pick the device to search for').default('host'),
  budget: z
    .object({
      maxAccuracyDrop: num(0, 100).optional(),
      maxFidelityDrop: num(0, 100).optional(),
      maxLatencyMs: num(0.001, 1e6).optional(),
      maxBytes: int(1, 2 ** 40).optional(),
    })
    .default({ maxAccuracyDrop: 1 }),
  space: z
    .object({
      /** Student templates; default: the teacher's. */
      templates: z.array(z.enum(templateNames, { error: `must be one of ${templateNames.join(', ')}` })).max(4).optional(),
      widths: z.array(num(0.03, 8)).min(1, 'give at least one width').max(12, 'at most 12 widths').default([0.25, 0.375, 0.5, 0.75]),
      /** Image side lengths (square inputs) to try; default: the dataset's own size only. */
      resolutions: z.array(int(4, 1024)).max(6, 'at most 6 resolutions').optional(),
      sparsities: z.array(num(0, 0.95)).min(1).max(4, 'at most 4 sparsities').default([0, 0.5]),
      precisions: z.array(z.enum(searchPrecisions, { error: `must be one of ${searchPrecisions.join(', ')}` })).min(1, 'pick at least one precision').max(5).default(['fp16', 'int8-dynamic', 'int8', 'int8-mixed']),
    })
    .default({ widths: [0.25, 0.375, 0.5, 0.75], sparsities: [0, 0.5], precisions: ['fp16', 'int8-dynamic', 'int8', 'int8-mixed'] }),
  strategy: z
    .object({
      /** Successive halving: keep 1/eta of the candidates at every rung. */
      eta: int(2, 8).default(3),
      /** Distillation epochs of the first rung; each later rung trains survivors eta times longer. */
      minEpochs: int(1, 100).default(1),
      /** Total epochs a finalist has trained when the last rung ends. */
      maxEpochs: int(1, 1000).default(8),
      /** Fine-tuning epochs of a pruned candidate. */
      pruneEpochs: int(1, 100).default(2),
      /** Images per training epoch of the first rung (a seeded subset; later rungs use the whole split). */
      firstRungImages: int(100, 10_000_000).optional(),
      temperature: num(0.5, 100).default(4),
      alpha: num(0, 1).default(0.7),
      batchSize: int(1, 4096).default(64),
      learningRate: num(1e-6, 1).default(1e-3),
    })
    .default({ eta: 3, minEpochs: 1, maxEpochs: 8, pruneEpochs: 2, temperature: 4, alpha: 0.7, batchSize: 64, learningRate: 1e-3 }),
  /** Benchmark settings on the target (trials give the latency interval: 6 or more for 95 %). */
  bench: z
    .object({ runs: int(1, 100_000).default(50), warmup: int(0, 10_000).default(5), trials: int(1, 50).default(6), threads: int(1, 16).default(4) })
    .default({ runs: 50, warmup: 5, trials: 6, threads: 4 }),
});
export type SearchStageSpec = z.infer<typeof searchStage>;

export const stageSchema = z.discriminatedUnion('kind', [trainTeacherStage, loadTeacherStage, distillStage, pruneStage, quantizeStage, exportStage, profileStage, searchStage]);
export type StageSpec = z.infer<typeof stageSchema>;
export type StageKind = StageSpec['kind'];
export const stageKinds = ['train-teacher', 'load-teacher', 'distill', 'prune', 'quantize', 'export', 'profile', 'search'] as const satisfies readonly StageKind[];

export const recipeSchema = z.object({
  name: z.string().min(1, 'give the run a name').max(120, 'at most 120 characters'),
  description: z.string().max(2000).optional(),
  seed: int(0, 2 ** 31 - 1).default(42),
  dataset: datasetSchema,
  stages: z.array(stageSchema).min(1, 'add at least one stage').max(20, 'at most 20 stages'),
});
export type Recipe = z.infer<typeof recipeSchema>;
export type RecipeInput = z.input<typeof recipeSchema>;

export interface RecipeIssue {
  path: string;
  message: string;
}

/**
 * Checks that need more than one field: stage order, and the seeded common mistakes, which are
 * warnings (the run may still make sense) unless they make the run impossible.
 */
export function checkRecipe(recipe: Recipe): { errors: RecipeIssue[]; warnings: RecipeIssue[] } {
  const errors: RecipeIssue[] = [];
  const warnings: RecipeIssue[] = [];
  let haveTeacher = false;
  let haveModel = false;
  let haveTflite = false;
  recipe.stages.forEach((s, i) => {
    const at = (field?: string) => `stages.${i}${field ? `.${field}` : ''}`;
    switch (s.kind) {
      case 'train-teacher':
        haveTeacher = haveModel = true;
        break;
      case 'load-teacher':
        if (!s.path && !s.artifactId) errors.push({ path: at('path'), message: 'give the path of a TF.js model.json or pick an artifact' });
        haveTeacher = haveModel = true;
        break;
      case 'distill':
        if (!haveTeacher && !s.self) errors.push({ path: at(), message: 'distillation needs a teacher: add a "train teacher" or "load teacher" stage before it' });
        for (const [k, t] of s.temperatures.entries()) {
          if (t < 1) warnings.push({ path: at(`temperatures.${k}`), message: `T = ${t} sharpens the teacher's outputs instead of softening them; use 1 to 20 (2–8 works for most models)` });
          else if (t > 20) warnings.push({ path: at(`temperatures.${k}`), message: `T = ${t} flattens the teacher's outputs until they carry little information; 2–8 works for most models` });
        }
        if (s.labeledCount !== undefined && recipe.dataset.labeledCount !== undefined) {
          errors.push({ path: at('labeledCount'), message: 'the dataset already keeps labels for only some images; set the label count in one place (dataset: every stage sees few labels; distill stage: only the student does)' });
        }
        if (s.features && s.self) errors.push({ path: at('self'), message: 'choose feature distillation or self-distillation for one stage, not both' });
        haveModel = true;
        break;
      case 'prune':
        if (!haveModel) errors.push({ path: at(), message: 'pruning needs a model: add a teacher or distill stage before it' });
        if (s.method === 'magnitude' && s.schedule.kind === 'one-shot' && s.targetSparsity >= 0.5) {
          warnings.push({ path: at('schedule'), message: `removing ${Math.round(s.targetSparsity * 100)} % of the weights in one step usually costs accuracy; prune gradually (iterative or polynomial) and fine-tune in between` });
        }
        if (s.method === 'magnitude' && s.schedule.kind === 'iterative' && s.schedule.stepFraction > 0.6) {
          warnings.push({ path: at('schedule.stepFraction'), message: 'each step removes more than 60 % of the remaining weights; smaller steps with fine-tuning in between keep more accuracy' });
        }
        if (s.method === 'structured' && s.structuredFraction > 0.75) {
          warnings.push({ path: at('structuredFraction'), message: 'removing more than 75 % of the channels in every layer often leaves too little capacity' });
        }
        if (s.fineTuneEpochs === 0 && s.targetSparsity > 0.3) warnings.push({ path: at('fineTuneEpochs'), message: 'without fine-tuning, accuracy after pruning usually drops; give it at least 1 epoch' });
        break;
      case 'quantize':
        if (!haveModel) errors.push({ path: at(), message: 'quantization needs a model: add a teacher or distill stage before it' });
        if ((s.mode === 'int8' || s.mode === 'qat') && s.calibrationSamples === 0) {
          errors.push({ path: at('calibrationSamples'), message: 'full-integer INT8 needs calibration data to choose activation ranges; use at least 100 samples (256 is the default), or pick "dynamic" (weights only) instead' });
        } else if ((s.mode === 'int8' || s.mode === 'qat') && s.calibrationSamples < 100) {
          warnings.push({ path: at('calibrationSamples'), message: `${s.calibrationSamples} calibration samples may miss the real range of the activations; 256 or more is safer` });
        }
        break;
      case 'export':
        if (!haveModel) errors.push({ path: at(), message: 'export needs a model: add a teacher or distill stage before it' });
        haveTflite = true;
        break;
      case 'profile':
        if (!haveTflite) errors.push({ path: at(), message: 'profiling runs a .tflite file: add an export stage before it' });
        break;
      case 'search':
        if (!haveTeacher) errors.push({ path: at(), message: 'the search distills students from a teacher: add a "train teacher" or "load teacher" stage before it' });
        if (Object.values(s.budget).every((v) => v === undefined)) errors.push({ path: at('budget'), message: 'give at least one budget: maximum accuracy drop, fidelity drop, latency or file size' });
        if (s.strategy.maxEpochs < s.strategy.minEpochs) errors.push({ path: at('strategy.maxEpochs'), message: `must be at least minEpochs (${s.strategy.minEpochs})` });
        haveModel = haveTflite = true;
        break;
    }
  });
  return { errors, warnings };
}

/** Parse and check: throws nothing, returns the recipe with defaults applied, or the problems. */
export function validateRecipe(input: unknown):
  | { ok: true; recipe: Recipe; warnings: RecipeIssue[] }
  | { ok: false; errors: RecipeIssue[]; warnings: RecipeIssue[] } {
  const parsed = recipeSchema.safeParse(input);
  if (!parsed.success) {
    return { ok: false, errors: explainIssues(parsed.error.issues, []).map((i) => ({ path: i.path.map(String).join('.') || '(recipe)', message: i.message })), warnings: [] };
  }
  const { errors, warnings } = checkRecipe(parsed.data);
  return errors.length ? { ok: false, errors, warnings } : { ok: true, recipe: parsed.data, warnings };
}
