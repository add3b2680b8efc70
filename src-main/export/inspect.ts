/**
 * What a `.tflite` file holds, from any converter: inputs, outputs, operators with versions, the
 * precision it was quantized to, size, parameter count and PocketBench / TFLite metadata.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { AppError } from '../../src-shared/errors';
import type { TfliteInfo, TflitePrecision } from '../../src-shared/contract/export';
import { LABELS_FILE, PRODUCER_METADATA_NAME, type ProducerInfo } from './metadata';
import { readTfliteMetadata } from './tflite/metadata-read';
import { METADATA_NAME } from './tflite/schema';
import { readTflite, type ReadModel } from './tflite/read';
import { readAssociatedFile, readZipEntry } from './zip-read';

/** The parts of a TFLITE_METADATA (ModelMetadata) entry the inspector shows; null when unreadable. */
export function readModelMetadata(data: Uint8Array): TfliteInfo['metadata'] | null {
  const m = readTfliteMetadata(data);
  if (!m) return null;
  const normalization = m.inputs[0]?.normalization;
  return {
    ...(m.name !== undefined ? { name: m.name } : {}),
    ...(m.description !== undefined ? { description: m.description } : {}),
    ...(m.version !== undefined ? { version: m.version } : {}),
    ...(m.author !== undefined ? { author: m.author } : {}),
    ...(normalization ? { normalization } : {}),
    associatedFiles: (m.outputs[0]?.associatedFiles ?? []).map((f) => f.name),
  };
}

function precisionOf(m: ReadModel): TflitePrecision {
  const weightTypes = new Set<string>();
  const activationTypes = new Set<string>();
  for (const op of m.operators) {
    if (op.op === 'QUANTIZE' || op.op === 'DEQUANTIZE') continue;
    for (const i of op.inputs) {
      if (i < 0) continue;
      const t = m.tensors[i];
      if (m.buffers[t.buffer]?.length) weightTypes.add(t.type);
      else activationTypes.add(t.type);
    }
  }
  const hasFp16 = m.tensors.some((t) => t.type === 'FLOAT16' && m.buffers[t.buffer]?.length);
  if (activationTypes.has('INT8') || activationTypes.has('UINT8')) return activationTypes.has('FLOAT32') ? 'mixed' : 'int8';
  if (weightTypes.has('INT8') || weightTypes.has('UINT8')) return 'int8-dynamic';
  if (hasFp16) return 'fp16';
  return 'fp32';
}

export function inspectTfliteBytes(bytes: Uint8Array, name = 'the file'): TfliteInfo {
  const m = readTflite(bytes, name);
  const io = (i: number) => {
    const t = m.tensors[i];
    return { name: t.name, shape: t.shape, dtype: t.type.toLowerCase(), ...(t.quant ? { scale: t.quant.scale[0], zeroPoint: t.quant.zeroPoint[0] } : {}) };
  };
  const operators: { op: string; version: number; count: number }[] = [];
  for (const op of m.operators) {
    const row = operators.find((r) => r.op === op.op && r.version === op.version);
    if (row) row.count++;
    else operators.push({ op: op.op, version: op.version, count: 1 });
  }
  let params = 0;
  let weightBytes = 0;
  const seen = new Set<number>();
  for (const t of m.tensors) {
    const data = m.buffers[t.buffer];
    if (!data?.length || seen.has(t.buffer) || t.type === 'INT32' && !t.quant) continue;
    seen.add(t.buffer);
    params += t.shape.reduce((a, b) => a * b, 1);
    weightBytes += data.length;
  }
  let producer: ProducerInfo | undefined;
  const own = m.metadata.find((e) => e.name === PRODUCER_METADATA_NAME);
  if (own) {
    try {
      producer = JSON.parse(new TextDecoder().decode(own.data)) as ProducerInfo;
    } catch {
      producer = undefined;
    }
  }
  const tfliteMeta = m.metadata.find((e) => e.name === METADATA_NAME);
  const metadata = tfliteMeta ? readModelMetadata(tfliteMeta.data) : null;
  // Every file the metadata names must be there (a file cut before its archive is damaged).
  for (const f of metadata?.associatedFiles ?? []) readAssociatedFile(bytes, f, name);
  const labelsRaw = readZipEntry(bytes, LABELS_FILE, name);
  const labels = labelsRaw ? new TextDecoder().decode(labelsRaw).split('\n').filter((l) => l.length) : undefined;
  return {
    name,
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    schemaVersion: m.version,
    precision: precisionOf(m),
    inputs: m.inputs.map(io),
    outputs: m.outputs.map(io),
    operators,
    operatorCount: m.operators.length,
    subgraphs: m.subgraphCount,
    params,
    weightBytes,
    hasTfliteMetadata: m.metadata.some((e) => e.name === METADATA_NAME),
    ...(producer ? { producer: `${producer.producer} ${producer.producerVersion}`, ...(producer.recipeHash ? { recipeHash: producer.recipeHash } : {}) } : {}),
    ...(labels ? { labels } : {}),
    ...(metadata ? { metadata } : {}),
  };
}

/** Inspects a file on disk. A missing, empty, corrupt or truncated file gets an AppError saying so. */
export function inspectTflite(path: string): TfliteInfo {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new AppError('NOT_FOUND', `There is no file at ${path}; check the path.`);
  }
  if (size === 0) throw new AppError('INVALID_FILE', `${path} is empty; export or download the model again.`);
  return { ...inspectTfliteBytes(new Uint8Array(readFileSync(path)), basename(path)), path };
}

