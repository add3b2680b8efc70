/**
 * The wizard's guard rails, kept free of Svelte so they are unit-tested (test/wizard-check.test.ts):
 * where a recipe problem lives (step, field id, words), the defaults a blank field gets, parsing
 * list fields without ever losing what was typed, repairing a stored draft, and the data warnings
 * (tiny classes, tiny test split) the schema cannot know about.
 */
import { type RecipeInput, stageKinds, stageSchema, validateRecipe } from '../../../src-shared/recipe';
import { getPath, stageFields } from './stage-fields';

type Stage = Record<string, unknown> & { kind: string };

export const wizardSteps = ['Dataset', 'Teacher', 'Student', 'Stages', 'Review'] as const;

const stageTitles: Record<string, string> = {
  'train-teacher': 'Teacher',
  'load-teacher': 'Teacher',
  distill: 'Distill',
  prune: 'Prune',
  quantize: 'Quantize',
  export: 'Export',
  profile: 'Profile',
  search: 'Search',
};

const datasetLabels: Record<string, string> = {
  path: 'Path',
  labelColumn: 'Label column',
  limitTrain: 'Use only N training images',
  limitTest: 'Use only N test images',
  labeledCount: 'Labels for only N images',
  validationFraction: 'Validation share',
  split: 'Split',
};

const studentLabels: Record<string, string> = { 'student.template': 'Student architecture', 'student.width': 'Student width', student: 'Student' };

export interface ProblemPlace {
  /** Wizard step index (0 Dataset … 4 Review). */
  step: number;
  /** The id of the input to focus, when there is one. */
  fieldId?: string;
  /** Where, in words: "Distill › Temperatures". */
  where: string;
}

/** Where a validation problem (`stages.1.temperatures.0`) lives in the wizard, in words and as a field to focus. */
export function locateProblem(path: string, stages: readonly Stage[]): ProblemPlace {
  const parts = path.split('.');
  if (parts[0] === 'dataset') {
    const key = parts[1] ?? '';
    const fieldId = key === 'path' ? 'ds-path' : key ? `ds-${key}` : undefined;
    return { step: 0, fieldId, where: `Dataset${key ? ` › ${datasetLabels[key] ?? key}` : ''}` };
  }
  if (parts[0] === 'name') return { step: 4, fieldId: 'recipe-name', where: 'Run name' };
  if (parts[0] === 'seed') return { step: 4, fieldId: 'recipe-seed', where: 'Seed' };
  if (parts[0] === 'stages' && parts.length >= 2) {
    const i = Number(parts[1]);
    const stage = stages[i];
    const kind = stage?.kind ?? '';
    const title = stageTitles[kind] ?? `Stage ${i + 1}`;
    const rest = parts.slice(2).filter((p) => !/^\d+$/.test(p));
    // The longest field key that prefixes the rest of the path (`schedule.stepFraction`, `optimizer.learningRate`).
    const fields = stageFields[kind] ?? [];
    let field = undefined as (typeof fields)[number] | undefined;
    for (let n = rest.length; n > 0 && !field; n--) field = fields.find((f) => f.key === rest.slice(0, n).join('.'));
    if (kind === 'distill' && rest[0] === 'student') {
      const key = rest.slice(0, 2).join('.');
      return { step: 2, fieldId: `student-${key.replace(/\./g, '-')}`, where: studentLabels[key] ?? 'Student' };
    }
    const step = kind === 'train-teacher' || kind === 'load-teacher' ? 1 : 3;
    const prefix = step === 1 ? 'teacher' : kind;
    if (field) return { step, fieldId: `${prefix}-${field.key.replace(/\./g, '-')}`, where: `${title} › ${field.label}` };
    if (kind === 'load-teacher') return { step, fieldId: 'teacher-path', where: 'Teacher › Model file' };
    return { step, where: rest.length ? `${title} › ${rest.join(' ')}` : title };
  }
  return { step: 4, where: 'Recipe' };
}

/** The value the backend uses when a stage field is left blank, read from the recipe schema itself. */
export function fieldDefault(kind: string, key: string): unknown {
  const parsed = stageSchema.safeParse(kind === 'load-teacher' ? { kind, path: 'x' } : { kind });
  return parsed.success ? getPath(parsed.data as Record<string, unknown>, key) : undefined;
}

/** A default as placeholder text: `64`, `0.001`, `1, 2, 4, 8, 16`. */
export function defaultText(v: unknown): string {
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'number' || typeof v === 'string') return String(v);
  return '';
}

/**
 * A list field's text as the recipe stores it. Numbers become numbers; anything else is kept as typed
 * (so the field shows it back) and `bad` names it, for a message in words.
 */
export function parseNumberList(text: string): { value: unknown[] | undefined; bad: string[] } {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  if (!parts.length) return { value: undefined, bad: [] };
  const value = parts.map((p) => (p !== '' && Number.isFinite(Number(p)) ? Number(p) : p));
  return { value, bad: parts.filter((p) => !Number.isFinite(Number(p))) };
}

export const draftStructureOk = (r: unknown): r is RecipeInput => {
  if (!r || typeof r !== 'object') return false;
  const o = r as Record<string, unknown>;
  const ds = o.dataset as Record<string, unknown> | undefined;
  const stages = o.stages as Stage[] | undefined;
  return (
    Boolean(ds) && typeof ds === 'object' && typeof ds!.kind === 'string' && ['fashion-mnist', 'image-folder', 'csv'].includes(ds!.kind as string) &&
    Array.isArray(stages) && stages.length > 0 && stages.every((s) => s && typeof s === 'object' && typeof s.kind === 'string' && (stageKinds as readonly string[]).includes(s.kind)) &&
    (stages[0].kind === 'train-teacher' || stages[0].kind === 'load-teacher')
  );
};

/** Problems a user can leave in a draft while filling it in (a path not typed yet): a draft with only these is kept as is. */
const unfinished = (message: string) => /^give |^name the column|^pick /.test(message);

/**
 * A draft read back from storage is never trusted: it is kept if it validates (or only lacks what the
 * user has not typed yet), repaired by dropping the fields that fail (they fall back to their defaults),
 * or discarded when the wizard could not show it. The notice says which.
 */
export function reviveDraft(raw: string | null, fresh: () => RecipeInput): { recipe: RecipeInput; notice?: string } {
  if (raw === null) return { recipe: fresh() };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { recipe: fresh(), notice: 'The saved draft could not be read, so the wizard starts from a new recipe.' };
  }
  if (!draftStructureOk(parsed)) return { recipe: fresh(), notice: 'The saved draft did not have a dataset and a teacher the wizard can show, so it was discarded and the wizard starts from a new recipe.' };
  const recipe = parsed as RecipeInput;
  const reset: string[] = [];
  for (let round = 0; round < 10; round++) {
    const r = validateRecipe(recipe);
    const fatal = r.ok ? [] : r.errors.filter((e) => !unfinished(e.message));
    if (!fatal.length) break;
    const e = fatal[0];
    const parts = e.path.split('.');
    // Drop the field that holds the bad value (for a list element, the whole list); never a whole stage or the dataset.
    const first = parts[0] === 'stages' ? 2 : parts[0] === 'dataset' ? 1 : 0;
    const cut = parts.findIndex((p, k) => k > first && /^\d+$/.test(p));
    const keep = cut > 0 ? parts.slice(0, cut) : parts;
    if (keep.length <= first) return { recipe: fresh(), notice: `The saved draft had a problem the wizard cannot repair (${e.path}: ${e.message}), so it was discarded and the wizard starts from a new recipe.` };
    const parentPath = keep.slice(0, -1).join('.');
    const parent = (parentPath ? getPath(recipe as unknown as Record<string, unknown>, parentPath) : recipe) as Record<string, unknown> | undefined;
    if (!parent || typeof parent !== 'object' || !(keep[keep.length - 1] in parent)) return { recipe: fresh(), notice: `The saved draft had a problem the wizard cannot repair (${e.path}: ${e.message}), so it was discarded.` };
    delete parent[keep[keep.length - 1]];
    reset.push(locateProblem(keep.join('.'), recipe.stages as Stage[]).where);
  }
  return reset.length ? { recipe, notice: `The saved draft had values that are not valid; they were reset to their defaults: ${[...new Set(reset)].join(', ')}.` } : { recipe };
}

/** The template that fits the data: an MLP for a table, the LeNet-style CNN for images. */
export const templateForDataset = (kind: string): 'mlp' | 'lenet' => (kind === 'csv' ? 'mlp' : 'lenet');

/** A run name that says which data it ran on (runs with one name form a lineage in Trends). */
export function runNameFor(ds: Record<string, unknown> & { kind: string }): string {
  if (ds.kind === 'fashion-mnist') return 'Fashion-MNIST';
  const p = typeof ds.path === 'string' ? ds.path.replace(/[\\/]+$/, '') : '';
  const base = p.split(/[\\/]/).pop() ?? '';
  return base.replace(/\.csv$/i, '') || (ds.kind === 'csv' ? 'CSV table' : 'Image folder');
}

/**
 * Warnings from the data itself: classes with too few examples to learn or to measure, and a test split
 * so small that one image moves the accuracy by several points.
 */
export function dataWarnings(ds: Record<string, unknown> & { kind: string }, classes: readonly { name: string; count: number }[]): string[] {
  if (!classes.length || ds.unlabeled) return [];
  const out: string[] = [];
  const tiny = classes.filter((c) => c.count < 20);
  if (tiny.length) out.push(`${tiny.length === 1 ? 'Class' : 'Classes'} ${tiny.map((c) => `“${c.name}” (${c.count})`).join(', ')} ${tiny.length === 1 ? 'has' : 'have'} fewer than 20 examples: the model will barely learn ${tiny.length === 1 ? 'it' : 'them'}, and the test split holds only one or two of ${tiny.length === 1 ? 'it' : 'them'}. Add examples if you can.`);
  const total = classes.reduce((a, c) => a + c.count, 0);
  let test: number;
  if (ds.kind === 'fashion-mnist') test = typeof ds.limitTest === 'number' ? ds.limitTest : 10_000;
  else test = Math.round(total * Number((ds.split as { test?: number } | undefined)?.test ?? 0.1));
  if (test < 100) out.push(`The test split holds only about ${test} example${test === 1 ? '' : 's'}: one mistake moves the accuracy by ${(100 / Math.max(test, 1)).toFixed(1)} points, so small differences between models mean nothing. Use more data or a larger test share.`);
  return out;
}
