/** Saving a trained model as a run artifact: content-hashed folder, size figures, metrics. */
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ModelMeta } from '../../../src-shared/model-io';
import type { Precision } from '../../../src-shared/types';
import { MODEL_JSON, type SavedModel, saveModel, serializeModel, summarizeModel, type ModelSummary, WEIGHTS_FILE } from '../../models';
import type { ModelRef, StageContext } from '../../pipeline/stage';

export interface StoredModel {
  ref: ModelRef;
  summary: ModelSummary;
  /** params, nonzeroParams, sparsity, macs, bytes, gzipBytes. */
  size: { params: number; nonzeroParams: number; sparsity: number; macs: number; bytes: number; gzipBytes: number };
}

/** Bytes of model.json + weights, and of the two gzipped (a proxy for download size). */
export async function modelBytes(model: tfl.LayersModel): Promise<{ bytes: number; gzipBytes: number }> {
  const { json, weights } = await serializeModel(model);
  return { bytes: json.length + weights.length, gzipBytes: gzipSync(Buffer.concat([json, weights]), { level: 9 }).length };
}

/**
 * Save `model` under `paths.artifactsDir` (content-hashed) and record it for this run's stage (or
 * for no run: an imported model) with its size figures and `metrics`. Returns the slot reference and
 * the figures. When recording fails, the saved folder is removed unless an artifact row uses it.
 */
export async function storeModelArtifact(
  ctx: Pick<StageContext, 'store' | 'paths'> & Partial<Pick<StageContext, 'runId' | 'stageId'>>,
  model: tfl.LayersModel,
  opts: {
    name: string;
    parentId?: number;
    metrics?: Record<string, unknown>;
    /** Default fp32; a stage that changed the weights' precision says which. */
    precision?: Precision;
    /** Size figures at that precision, when they are not the saved float files' (quantize, prune). */
    size?: StoredModel['size'];
    /** Labels and input convention, stored in model.json and carried to students and the .tflite. */
    meta?: ModelMeta | null;
  },
): Promise<StoredModel> {
  const saved = await saveModel(model, ctx.paths.artifactsDir, opts.meta);
  try {
    return recordModelArtifact(ctx, model, saved, opts);
  } catch (err) {
    if (ctx.store.artifacts.unreferenced([saved.path]).length) fs.rmSync(saved.path, { recursive: true, force: true });
    throw err;
  }
}

function recordModelArtifact(
  ctx: Pick<StageContext, 'store' | 'paths'> & Partial<Pick<StageContext, 'runId' | 'stageId'>>,
  model: tfl.LayersModel,
  saved: SavedModel,
  opts: Parameters<typeof storeModelArtifact>[2],
): StoredModel {
  const summary = summarizeModel(model);
  const size = opts.size ?? {
    params: summary.totals.params,
    nonzeroParams: summary.totals.nonZeroParams,
    sparsity: summary.totals.sparsity,
    macs: summary.totals.macsDeployed,
    bytes: saved.bytes,
    gzipBytes: gzipSync(Buffer.concat([MODEL_JSON, WEIGHTS_FILE].map((f) => fs.readFileSync(path.join(saved.path, f)))), { level: 9 }).length,
  };
  const artifactId = ctx.store.artifacts.create({
    runId: ctx.runId,
    stageId: ctx.stageId,
    parentId: opts.parentId,
    name: opts.name,
    format: 'tfjs-layers',
    path: saved.path,
    contentHash: saved.contentHash,
    bytes: size.bytes,
    gzipBytes: size.gzipBytes,
    params: size.params,
    nonzeroParams: size.nonzeroParams,
    sparsity: size.sparsity,
    precision: opts.precision ?? 'fp32',
    macs: size.macs,
    metrics: opts.size ? { ...opts.metrics, fileBytes: saved.bytes } : opts.metrics,
  });
  return { ref: { artifactId, path: saved.path, format: 'tfjs-layers' }, summary, size };
}
