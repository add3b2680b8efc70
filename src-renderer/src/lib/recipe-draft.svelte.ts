/**
 * The wizard's working copy of a recipe. It is a plain recipe input (so it can be saved, loaded
 * and exported as JSON at any moment) and it survives page reloads.
 */
import type { Preset } from '../../../src-shared/presets';
import type { RecipeInput } from '../../../src-shared/recipe';
import { reviveDraft } from './wizard-check';

const KEY = 'pocketbench.draft';

type Stage = Record<string, unknown> & { kind: string };
export const optionalKinds = ['distill', 'prune', 'quantize', 'export', 'profile'] as const;
export type OptionalKind = (typeof optionalKinds)[number];

/** Defaults for a stage card when the user switches it on. */
export const stageDefaults: Record<OptionalKind, Stage> = {
  distill: { kind: 'distill', student: { width: 0.25 }, temperatures: [1, 2, 4, 8, 16], alphas: [0.7], control: true, epochs: 10 },
  prune: { kind: 'prune', method: 'magnitude', targetSparsity: 0.8, schedule: { kind: 'iterative', stepFraction: 0.5, epochsPerStep: 2 }, fineTuneEpochs: 2 },
  quantize: { kind: 'quantize', mode: 'int8', calibrationSamples: 256, observer: 'minmax' },
  export: { kind: 'export', precision: 'auto', io: 'float32', desktopAccuracy: true },
  profile: { kind: 'profile', targets: ['host'], threads: 4, runs: 50, trials: 3 },
};

function fresh(): RecipeInput {
  return {
    name: 'Fashion-MNIST',
    seed: 42,
    dataset: { kind: 'fashion-mnist' },
    stages: [{ kind: 'train-teacher', model: { template: 'lenet', width: 1 }, epochs: 10 }, { ...stageDefaults.distill }, { ...stageDefaults.export }],
  } as RecipeInput;
}

function stored(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

// A stored draft is never trusted: it is checked, repaired or discarded, and the wizard says which.
const revived = reviveDraft(stored(), fresh);
/** What happened to the stored draft, shown once by the wizard. */
export const draftNotice = { text: revived.notice };

export const draft = $state<{ recipe: RecipeInput }>({ recipe: revived.recipe });

const NAME_KEY = 'pocketbench.draft.nameEdited';
/** Whether the user typed the run name; until then it follows the dataset. */
export const runName = $state({ edited: localStorage.getItem(NAME_KEY) === '1' });
export function setNameEdited(on: boolean): void {
  runName.edited = on;
  localStorage.setItem(NAME_KEY, on ? '1' : '0');
}

export function persistDraft(): void {
  localStorage.setItem(KEY, JSON.stringify($state.snapshot(draft.recipe)));
}

export function loadRecipe(r: RecipeInput): void {
  // $state.snapshot, not structuredClone: `r` may be a reactive proxy, which cannot be cloned.
  draft.recipe = $state.snapshot(r) as RecipeInput;
  persistDraft();
  setNameEdited(true);
}

export function loadPreset(p: Preset): void {
  loadRecipe(p.recipe);
  setNameEdited(false);
}

/** The teacher stage is always first in a wizard-built recipe. */
export function teacherStage(): Stage {
  return draft.recipe.stages[0] as Stage;
}

export function stageOf(kind: OptionalKind): Stage | undefined {
  return (draft.recipe.stages as Stage[]).find((s) => s.kind === kind);
}

/** Switch a stage card on or off, keeping the canonical order teacher → distill → prune → quantize → export → profile. */
export function toggleStage(kind: OptionalKind, on: boolean): void {
  const stages = draft.recipe.stages as Stage[];
  const existing = stages.find((s) => s.kind === kind);
  if (on && !existing) stages.push(structuredClone(stageDefaults[kind]));
  if (!on && existing) stages.splice(stages.indexOf(existing), 1);
  const order = ['train-teacher', 'load-teacher', ...optionalKinds] as string[];
  stages.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  persistDraft();
}

export function stageIndex(kind: string): number {
  return (draft.recipe.stages as Stage[]).findIndex((s) => s.kind === kind);
}
