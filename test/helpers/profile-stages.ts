/**
 * Stages for testing the profile stage through the real pipeline worker without training: a
 * stand-in teacher, an "export" that records a real .tflite fixture as the run's artifact, and the
 * real profile stage (which asks the host's lab over the worker protocol).
 */
import path from 'node:path';
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import type { StageRegistry } from '../../src-main/pipeline/stage';
import { stages as devices } from '../../src-main/devices/stages';

const MODEL = path.resolve(import.meta.dirname, '../fixtures/models/face_detection_short_range.tflite');
/** A .tflite artifact's content hash is its file's SHA-256 (the lab checks it before linking figures). */
const MODEL_SHA256 = createHash('sha256').update(fs.readFileSync(MODEL)).digest('hex');

export const stages: StageRegistry = {
  'load-teacher': async () => ({ metrics: {} }),
  export: async (ctx) => {
    const id = ctx.store.artifacts.create({ runId: ctx.runId, stageId: ctx.stageId, name: 'model.tflite', format: 'tflite', path: MODEL, contentHash: MODEL_SHA256, bytes: fs.statSync(MODEL).size });
    return { outputs: { tflite: { artifactId: id, path: MODEL, format: 'tflite' } } };
  },
  ...devices,
};
