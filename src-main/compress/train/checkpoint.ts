/**
 * Training checkpoints: model weights (all of them, BatchNorm statistics included), optimizer state
 * (Adam moments, momentum, iteration count) and the best weights so far, in one binary file plus a
 * JSON header. Written to a temporary name and renamed, so a crash mid-write leaves the previous
 * checkpoint intact.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AppError } from '../../../src-shared/errors';

export interface TensorEntry {
  name: string;
  shape: number[];
  /** Offset in float32 values into the weights file. */
  offset: number;
}

export interface CheckpointHeader<S = unknown> {
  version: 1;
  /** Caller state (epoch, history, early-stopping counters...). */
  state: S;
  model: TensorEntry[];
  optimizer: TensorEntry[];
  best: TensorEntry[] | null;
}

const HEADER = 'fit-state.json';
const DATA = 'fit-weights.bin';

export interface CheckpointData<S> {
  state: S;
  model: { name: string; values: Float32Array; shape: number[] }[];
  optimizer: { name: string; values: Float32Array; shape: number[] }[];
  best: Float32Array[] | null;
}

export function hasCheckpoint(dir: string): boolean {
  return fs.existsSync(path.join(dir, HEADER)) && fs.existsSync(path.join(dir, DATA));
}

/** Weights of the model as typed-array copies (no tensors kept). */
export function copyWeights(weights: tf.Tensor[]): Float32Array[] {
  return weights.map((w) => Float32Array.from(w.dataSync() as Float32Array));
}

export async function writeCheckpoint<S>(dir: string, state: S, modelWeights: { name: string; tensor: tf.Tensor }[], optimizer: tf.Optimizer, best: Float32Array[] | null): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const optWeights = await optimizer.getWeights();
  const chunks: Float32Array[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], values: Float32Array): TensorEntry => {
    const e = { name, shape, offset };
    chunks.push(values);
    offset += values.length;
    return e;
  };
  const model = modelWeights.map((w) => add(w.name, w.tensor.shape, Float32Array.from(w.tensor.dataSync() as ArrayLike<number>)));
  const opt = optWeights.map((w) => add(w.name, w.tensor.shape, Float32Array.from(w.tensor.dataSync() as ArrayLike<number>)));
  // The iteration count is a fresh scalar; the rest are the optimizer's own variables.
  for (const w of optWeights) if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose();
  const bestEntries = best ? best.map((b, i) => add(`best/${i}`, modelWeights[i].tensor.shape, b)) : null;
  const header: CheckpointHeader<S> = { version: 1, state, model, optimizer: opt, best: bestEntries };
  const buf = Buffer.alloc(offset * 4);
  let at = 0;
  for (const c of chunks) {
    Buffer.from(c.buffer, c.byteOffset, c.byteLength).copy(buf, at);
    at += c.byteLength;
  }
  const tmpData = path.join(dir, `${DATA}.tmp`);
  const tmpHeader = path.join(dir, `${HEADER}.tmp`);
  fs.writeFileSync(tmpData, buf);
  fs.writeFileSync(tmpHeader, JSON.stringify(header));
  // Data first, header last: a header always describes a complete data file.
  fs.renameSync(tmpData, path.join(dir, DATA));
  fs.renameSync(tmpHeader, path.join(dir, HEADER));
}

export function readCheckpoint<S>(dir: string): CheckpointData<S> {
  const headerPath = path.join(dir, HEADER);
  let header: CheckpointHeader<S>;
  let data: Buffer;
  try {
    header = JSON.parse(fs.readFileSync(headerPath, 'utf8')) as CheckpointHeader<S>;
    data = fs.readFileSync(path.join(dir, DATA));
  } catch (err) {
    throw new AppError('IO', `The training checkpoint in ${dir} could not be read (${(err as Error).message}). Start the stage again without resuming.`);
  }
  const all = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const take = (e: TensorEntry) => {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (e.offset + n > all.length) throw new AppError('IO', `The training checkpoint in ${dir} is truncated (${e.name}). Start the stage again without resuming.`);
    return { name: e.name, shape: e.shape, values: all.slice(e.offset, e.offset + n) };
  };
  return { state: header.state, model: header.model.map(take), optimizer: header.optimizer.map(take), best: header.best ? header.best.map((e) => take(e).values) : null };
}

/** Check that checkpointed weights fit the model, tensor by tensor. */
export function checkCheckpointShapes(dir: string, weights: { name: string; tensor: tf.Tensor }[], saved: { name: string; shape: number[]; values: Float32Array }[]): void {
  if (saved.length !== weights.length) {
    throw new AppError('CONFLICT', `The checkpoint in ${dir} holds ${saved.length} weight tensors but the model has ${weights.length}: it belongs to a different model. Start the stage again without resuming.`);
  }
  saved.forEach((s, i) => {
    if (s.shape.join('x') !== weights[i].tensor.shape.join('x')) {
      throw new AppError('CONFLICT', `The checkpoint in ${dir} has ${s.name} with shape [${s.shape}] but the model's ${weights[i].name} is [${weights[i].tensor.shape}]. Start the stage again without resuming.`);
    }
  });
}
