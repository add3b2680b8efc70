/**
 * "Bring your own model": what the wizard and the "Shrink my Teachable Machine model" preset offer
 * for an imported teacher. Pure functions of the teacher's input convention (no Node, no DOM), shared
 * by the UI, the CLI and the tests.
 *
 * - `studentSuggestions(teacherInput)`: MobileNet-template students at width 0.25–0.5 and a resolution
 *   of 96–160 px or the teacher's own, the sizes at which such students usually keep most of a
 *   MobileNetV2 teacher's accuracy on a phone-sized budget.
 * - `datasetForTeacher(dataset, teacherInput, size)`: the image-folder block that decodes pixels at the
 *   teacher's size, feeds the student `size` and carries the teacher's normalization to the student
 *   (so the student's .tflite takes what the original took).
 * - `shrinkRecipe(...)`: the preset as a recipe: teacher → its FP32 .tflite, profiled → distilled
 *   student → INT8 → its .tflite (uint8 input by default: raw pixels, like Teachable Machine's own
 *   quantized export), profiled on the same targets.
 * - `shrinkComparison(recipe, stages)`: the two columns of the side-by-side screen, from a run's stage
 *   metrics (undefined where a figure was not measured; nothing is made up).
 */
import type { ImageInputConvention } from './model-io';
import type { RecipeInput } from './recipe';

export interface StudentSuggestion {
  width: number;
  size: number;
  title: string;
  why: string;
}

const RESOLUTIONS = [96, 128, 160] as const;

/** MobileNet students for a teacher taking `input` images, smallest first. */
export function studentSuggestions(input: ImageInputConvention): StudentSuggestion[] {
  const own = Math.min(input.size[0], input.size[1]);
  const sizes = [...RESOLUTIONS.filter((r) => r < own), own];
  const pick = (i: number) => sizes[Math.min(i, sizes.length - 1)];
  const out: StudentSuggestion[] = [
    { width: 0.25, size: pick(0), title: 'Smallest', why: 'Quarter-width MobileNet at a low resolution: the fastest, for a clear-cut task.' },
    { width: 0.35, size: pick(1), title: 'Balanced', why: 'The width Teachable Machine’s own MobileNetV2 uses, at a reduced resolution.' },
    { width: 0.5, size: pick(2), title: 'Closest to the teacher', why: 'Half width at up to 160 px: keeps more accuracy when classes look alike.' },
    { width: 0.5, size: own, title: 'Teacher’s resolution', why: `Half width at the teacher’s own ${own} px: no detail lost to resizing.` },
  ];
  // Drop repeats (a small teacher leaves fewer distinct resolutions).
  return out.filter((s, i) => out.findIndex((o) => o.width === s.width && o.size === s.size) === i);
}

/** The image-folder block (other fields kept) for a teacher taking `input` and a student taking `size` × `size` images. */
export function datasetForTeacher(dataset: Record<string, unknown> & { path: string }, input: ImageInputConvention, size: number): RecipeInput['dataset'] {
  return {
    ...dataset,
    kind: 'image-folder',
    path: dataset.path,
    decodeSize: [input.size[0], input.size[1]],
    imageSize: [size, size],
    channels: input.channels,
    normalization: { mean: [...input.normalization.mean], std: [...input.normalization.std] },
  } as RecipeInput['dataset'];
}

export interface ShrinkArgs {
  /** The imported teacher (an artifact) or a model file. */
  teacher: { artifactId: number } | { path: string };
  teacherInput: ImageInputConvention;
  /** Folder of images: one subfolder per class, or (labelled: false) any images. */
  folder: string;
  labelled: boolean;
  /** Profile targets: 'host' and/or ADB serials. */
  targets: string[];
  student?: { width: number; size: number };
  epochs?: number;
  /** The student's .tflite input: uint8 takes raw 0–255 pixels (the drop-in form), float32 the normalized values. */
  io?: 'uint8' | 'float32';
  seed?: number;
}

/**
 * The MobileNet template's options for 96–224 px students: a stride-2 stem and blocks down to 1/32 of
 * the input (as MobileNet itself), so the feature maps and MACs stay phone-sized at these resolutions
 * (the template's defaults are for 28-px images).
 */
export const IMAGE_STUDENT_OPTIONS = {
  stemStride: 2,
  blocks: [
    { filters: 64, stride: 1 },
    { filters: 128, stride: 2 },
    { filters: 128, stride: 1 },
    { filters: 256, stride: 2 },
    { filters: 256, stride: 1 },
    { filters: 512, stride: 2 },
    { filters: 512, stride: 1 },
    { filters: 1024, stride: 2 },
  ],
} as const;

/** Stage positions in a shrink recipe (fixed, so the comparison can read them back). */
export const SHRINK_STAGES = { teacher: 0, teacherExport: 1, teacherProfile: 2, distill: 3, quantize: 4, studentExport: 5, studentProfile: 6 } as const;

export const SHRINK_DESCRIPTION = 'Preset "Shrink my Teachable Machine model": the original as FP32 .tflite and a distilled INT8 student, profiled side by side.';
const SHRINK_KINDS = ['load-teacher', 'export', 'profile', 'distill', 'quantize', 'export', 'profile'];

/** Whether a run's recipe was made by `shrinkRecipe` (its stages can be read as the two columns). */
export function isShrinkRecipe(recipe: unknown): boolean {
  const r = recipe as { description?: unknown; stages?: { kind?: unknown }[] } | null;
  return r?.description === SHRINK_DESCRIPTION && Array.isArray(r.stages) && r.stages.length === SHRINK_KINDS.length && r.stages.every((s, i) => s?.kind === SHRINK_KINDS[i]);
}

export function shrinkRecipe(a: ShrinkArgs): RecipeInput {
  const suggestions = studentSuggestions(a.teacherInput);
  const student = a.student ?? { width: suggestions[1].width, size: suggestions[1].size };
  const profile = { kind: 'profile', targets: a.targets.length ? a.targets : ['host'], trials: 3, runs: 30, warmup: 3 } as const;
  return {
    name: 'Shrink my model',
    description: SHRINK_DESCRIPTION,
    seed: a.seed ?? 42,
    dataset: datasetForTeacher({ path: a.folder, ...(a.labelled ? {} : { unlabeled: true }) }, a.teacherInput, student.size),
    stages: [
      { kind: 'load-teacher', ...a.teacher },
      { kind: 'export', precision: 'fp32', io: 'float32' },
      profile,
      {
        kind: 'distill',
        student: { template: 'mobilenet', width: student.width, options: IMAGE_STUDENT_OPTIONS },
        temperatures: [2, 4],
        alphas: [a.labelled ? 0.7 : 1],
        control: false,
        epochs: a.epochs ?? 12,
        batchSize: 32,
        optimizer: { name: 'adam', learningRate: 2e-3, momentum: 0.9 },
        lrSchedule: { kind: 'cosine', minFactor: 0.05 },
      },
      { kind: 'quantize', mode: 'int8', calibrationSamples: 256 },
      { kind: 'export', precision: 'int8', io: a.io ?? 'uint8' },
      profile,
    ],
  } as RecipeInput;
}

export interface ShrinkColumn {
  /** .tflite file bytes. */
  fileBytes?: number;
  params?: number;
  /** Top-1 accuracy on the held-out test images (labelled folders). */
  accuracy?: number;
  /** What `accuracy` was measured on: the .tflite file in LiteRT, or the TF.js model before export. */
  accuracyOn?: 'tflite' | 'tfjs';
  /** Top-1 agreement with the original on the held-out test images. */
  fidelity?: number;
  fidelityOn?: 'tflite' | 'tfjs';
  /** target → median latency (ms) from the profile stage. */
  latencyMs: Record<string, number>;
}

type StageMetrics = { metrics?: Record<string, unknown> | null } | undefined;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function latencies(m: Record<string, unknown> | null | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m ?? {})) if (k.endsWith('.latencyMs') && num(v) !== undefined) out[k.slice(0, -'.latencyMs'.length)] = v as number;
  return out;
}

/** The original and the student, from the stage metrics of a run made by `shrinkRecipe`. */
export function shrinkComparison(stages: StageMetrics[]): { original: ShrinkColumn; student: ShrinkColumn; byTeacher: boolean } {
  const m = (i: number) => stages[i]?.metrics ?? {};
  const t = m(SHRINK_STAGES.teacher);
  const te = m(SHRINK_STAGES.teacherExport);
  const d = m(SHRINK_STAGES.distill);
  const q = m(SHRINK_STAGES.quantize);
  const se = m(SHRINK_STAGES.studentExport);
  const byTeacher = t.targets === 'teacher' || d.targets === 'teacher';
  const original: ShrinkColumn = {
    fileBytes: num(te.bytes),
    params: num(t.params),
    ...(byTeacher ? {} : { accuracy: num(te.deployedAccuracy) ?? num(t.accuracy), accuracyOn: num(te.deployedAccuracy) !== undefined ? 'tflite' : 'tfjs' }),
    latencyMs: latencies(m(SHRINK_STAGES.teacherProfile)),
  };
  const fileFigure = byTeacher ? num(se.deployedFidelity) : num(se.deployedAccuracy);
  const student: ShrinkColumn = {
    fileBytes: num(se.bytes),
    params: num(d.params) ?? num(q.params),
    ...(byTeacher
      ? { fidelity: fileFigure ?? num(d.fidelity), fidelityOn: fileFigure !== undefined ? 'tflite' : 'tfjs' }
      : { accuracy: fileFigure ?? num(d.accuracy), accuracyOn: fileFigure !== undefined ? 'tflite' : 'tfjs', fidelity: num(d.fidelity), fidelityOn: 'tfjs' }),
    latencyMs: latencies(m(SHRINK_STAGES.studentProfile)),
  };
  return { original, student, byTeacher };
}
