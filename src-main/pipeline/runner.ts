/**
 * Runs a recipe's stages in order inside the worker. Finished stages are skipped on resume and
 * their outputs restored from the store, so a resumed run continues where it stopped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError, toErrorInfo } from '../../src-shared/errors';
import { type Recipe, validateRecipe } from '../../src-shared/recipe';
import { resolvePaths } from '../host/paths';
import { Store } from '../store';
import { setCancelCheck } from '../tf/cancel';
import type { FromWorker, StartMessage } from './protocol';
import type { PipelineSlots, StageContext, StageRegistry, StageResult, StageRunner } from './stage';

type Done = Extract<FromWorker, { type: 'done' }>;

export function checkpointRoot(dataDir: string, runId: number): string {
  return path.join(dataDir, 'checkpoints', `run-${runId}`);
}

/** Written by the host on cancel: the worker sees it at its next cancellation point even in a loop that never yields (tf/cancel.ts). */
export function cancelFlagPath(dataDir: string, runId: number): string {
  return path.join(checkpointRoot(dataDir, runId), 'cancel-requested');
}

export const NOT_RUN = 'Not run: the run stopped before this stage. Resume the run to run it.';

/** Stages the run never reached show as skipped (a resume runs them). */
function skipPending(store: Store, runId: number): void {
  for (const s of store.runs.stages(runId)) if (s.status === 'pending') store.runs.updateStage(runId, s.index, { status: 'skipped', error: NOT_RUN });
}

export async function runRecipe(msg: StartMessage, signal: AbortSignal, send: (m: FromWorker) => void): Promise<Done> {
  const store = new Store(msg.dbPath, { localFile: msg.localDbPath });
  try {
    return await run(store, msg, signal, send);
  } finally {
    store.close();
  }
}

async function run(store: Store, msg: StartMessage, signal: AbortSignal, send: (m: FromWorker) => void): Promise<Done> {
  const paths = { ...resolvePaths(msg.dataDir), dataDir: msg.dataDir };
  const detail = store.runs.get(msg.runId);
  if (!detail) return { type: 'done', status: 'failed', error: `Run ${msg.runId} no longer exists.` };
  const checked = validateRecipe(detail.recipe);
  if (!checked.ok) {
    const error = `The recipe is not valid: ${checked.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`;
    store.runs.setStatus(msg.runId, 'failed', { error });
    return { type: 'done', status: 'failed', error };
  }
  const recipe: Recipe = checked.recipe;
  const registry = (msg.stagesModule ? await import(/* @vite-ignore */ msg.stagesModule) : await import('./stages')).stages as StageRegistry;

  // Every run records the compute backend it trained on (and its thread count); where tfjs-node is
  // installed, a timed probe of the run's model picks it or wasm (recorded, reused next time).
  if (recipe.stages.some((s) => s.kind !== 'profile')) {
    const { chooseRunBackend } = await import('../compress/train/backend-probe');
    const info = await chooseRunBackend(recipe, paths.dataDir);
    store.runs.setStatus(msg.runId, 'running', { error: null, backend: info.name ?? undefined, backendThreads: info.threads ?? undefined });
    send({ type: 'backend', info });
  } else {
    store.runs.setStatus(msg.runId, 'running', { error: null });
  }
  send({ type: 'changed' });

  // A cancel request left from an earlier attempt of this run is void; a new one is seen at once.
  const flag = cancelFlagPath(paths.dataDir, msg.runId);
  fs.rmSync(flag, { force: true });
  let flagged = false;
  const cancelRequested = () => signal.aborted || flagged || (flagged = fs.existsSync(flag));
  const throwIfCancelled = () => {
    if (cancelRequested()) throw new AppError('CANCELLED', 'Cancelled.');
  };
  setCancelCheck(throwIfCancelled);

  let slots: PipelineSlots = {};
  const stages = store.runs.stages(msg.runId);
  for (const row of stages) {
    const spec = recipe.stages[row.index];
    if (row.status === 'succeeded') {
      // Resume: restore what the finished stage produced.
      const outputs = (row.metrics as { outputs?: Partial<PipelineSlots> } | null)?.outputs;
      slots = { ...slots, ...(outputs ?? {}) };
      continue;
    }
    // 'skipped' means never reached (skipPending): a resumed run runs it.
    const runner = registry[spec.kind] as StageRunner | undefined;
    if (!runner) {
      const error = `Stage ${row.index + 1} (${spec.kind}) cannot run: this version of PocketBench has no "${spec.kind}" stage.`;
      store.runs.updateStage(msg.runId, row.index, { status: 'failed', error });
      store.runs.setStatus(msg.runId, 'failed', { error });
      skipPending(store, msg.runId);
      send({ type: 'changed' });
      return { type: 'done', status: 'failed', error };
    }
    const resuming = row.status === 'running' || row.status === 'failed' || row.status === 'cancelled';
    store.runs.updateStage(msg.runId, row.index, { status: 'running', error: null });
    send({ type: 'changed' });
    const checkpointDir = path.join(checkpointRoot(paths.dataDir, msg.runId), `stage-${row.index}`);
    fs.mkdirSync(checkpointDir, { recursive: true });
    const ctx: StageContext = {
      runId: msg.runId,
      stageIndex: row.index,
      stageId: row.id,
      stage: spec,
      recipe,
      seed: recipe.seed,
      signal,
      store,
      paths,
      slots: { ...slots },
      checkpointDir,
      resuming,
      progress: (p) => send({ type: 'progress', progress: { runId: msg.runId, stageIndex: row.index, stageKind: spec.kind, ...p } }),
      log: (level, message) => send({ type: 'log', level, message }),
      throwIfCancelled,
    };
    let result: StageResult;
    try {
      result = await runner(ctx as never);
      ctx.throwIfCancelled();
    } catch (err) {
      const info = toErrorInfo(err);
      if (info.code === 'CANCELLED' || cancelRequested()) {
        store.runs.updateStage(msg.runId, row.index, { status: 'cancelled', error: 'Cancelled by the user.' });
        store.runs.setStatus(msg.runId, 'cancelled', { error: 'Cancelled by the user. Finished stages are kept; resume to continue.' });
        skipPending(store, msg.runId);
        send({ type: 'changed' });
        return { type: 'done', status: 'cancelled' };
      }
      const error = `Stage ${row.index + 1} (${spec.kind}) failed: ${info.message}`;
      store.runs.updateStage(msg.runId, row.index, { status: 'failed', error: info.message });
      store.runs.setStatus(msg.runId, 'failed', { error });
      skipPending(store, msg.runId);
      send({ type: 'changed' });
      return { type: 'done', status: 'failed', error };
    }
    store.runs.updateStage(msg.runId, row.index, {
      status: 'succeeded',
      metrics: { ...(result.metrics ?? {}), outputs: result.outputs ?? {} },
      curves: result.curves ?? null,
    });
    slots = { ...slots, ...(result.outputs ?? {}) };
    send({ type: 'changed' });
  }
  store.runs.setStatus(msg.runId, 'succeeded', { error: null });
  // Checkpoints exist only to resume; a finished run does not need them.
  fs.rmSync(checkpointRoot(paths.dataDir, msg.runId), { recursive: true, force: true });
  send({ type: 'changed' });
  return { type: 'done', status: 'succeeded' };
}
