/**
 * The timed probe behind the tfjs-node / wasm choice (tf/backend-choice.ts): a few real training
 * steps (forward, backward, Adam update) of the model on each backend, with a warm-up step each.
 * Used at the app's first start (on the demo's LeNet) and before each run (on the run's model);
 * results are recorded in the app data folder, so a model shape is probed once per machine.
 */
import os from 'node:os';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { BackendInfo } from '../../../src-shared/types';
import { buildTemplate, type TemplateSpec } from '../../models';
import { initBackend, tfjsNodeState, useBackend } from '../../tf';
import type { Recipe } from '../../../src-shared/recipe';
import { chooseBackend, ProbeRecords, type WasmName } from '../../tf/backend-choice';
import { datasetFacts, measureMsPerBatch } from './engine-service';

export interface ProbeModel {
  /** In words, for the reason shown ("lenet ×1 on 28×28×1"). */
  label: string;
  /** Stable key of the model's shape and the batch size. */
  key: string;
  batchSize: number;
  build: () => tfl.LayersModel | Promise<tfl.LayersModel>;
}

/** The demo's teacher: what the first start probes before any run exists. */
export function defaultProbeModel(): ProbeModel {
  return templateProbeModel({ template: 'lenet', width: 1 }, [28, 28, 1], 10, 64);
}

export function templateProbeModel(model: { template: string; width?: number; options?: Record<string, unknown> }, inputShape: number[], numClasses: number, batchSize: number): ProbeModel {
  const width = model.width ?? 1;
  return {
    label: `${model.template} ×${width} on ${inputShape.join('×')}`,
    key: JSON.stringify([model.template, width, model.options ?? {}, inputShape, numClasses, batchSize]),
    batchSize,
    build: () => buildTemplate({ ...(model.options ?? {}), template: model.template, width, inputShape, numClasses, seed: 0 } as TemplateSpec),
  };
}

/** Time `steps` training steps of a fresh copy of the model on `backend` (after one warm-up). */
async function timeOn(backend: string, m: ProbeModel, steps: number): Promise<number> {
  await useBackend(backend);
  const model = await m.build();
  try {
    return await measureMsPerBatch(model, m.batchSize, `probe|${m.key}`, steps);
  } finally {
    model.dispose();
  }
}

/**
 * Make the faster backend for this model active (tfjs-node only where it is installed and wins the
 * probe) and say which and why. Without tfjs-node this returns at once, with the reason.
 */
export async function chooseBackendFor(m: ProbeModel, records: ProbeRecords, opts: { steps?: number } = {}): Promise<BackendInfo> {
  const { info } = await initBackend();
  if (info.name !== 'wasm' && info.name !== 'wasm+native') return info; // forced, or nothing to compare
  const wasm = info.name as WasmName;
  const decision = await chooseBackend({
    key: m.key,
    model: m.label,
    tfjsNode: tfjsNodeState(),
    wasm,
    machine: `${os.cpus()[0]?.model ?? 'cpu'}×${os.cpus().length}|threads ${info.threads ?? '?'}`,
    records,
    measure: (backend) => timeOn(backend, m, opts.steps ?? 3),
  });
  const active = await useBackend(decision.name);
  return { ...active, note: info.note, reason: decision.reason };
}

/**
 * The backend a run trains on: its first trained model (a template teacher) is probed; other
 * recipes use the demo's LeNet probe. Never fails a run: a dataset that cannot be read yet falls
 * back to the default probe (the stage then reports the data problem itself).
 */
export async function chooseRunBackend(recipe: Recipe, dataDir: string): Promise<BackendInfo> {
  const records = ProbeRecords.inDataDir(dataDir);
  await initBackend();
  const first = recipe.stages[0];
  if (!tfjsNodeState().ok || first?.kind !== 'train-teacher' || !('template' in first.model)) return chooseBackendFor(defaultProbeModel(), records);
  const model = first.model;
  try {
    const facts = await datasetFacts(recipe.dataset);
    return await chooseBackendFor(templateProbeModel(model, facts.inputShape, facts.numClasses, first.batchSize), records);
  } catch {
    return chooseBackendFor(defaultProbeModel(), records);
  }
}
