/**
 * Bounds-checked reader for TFLite flatbuffers (any converter's output). Every offset is checked
 * against the file length before it is followed, so a corrupt or truncated file gives a clear error
 * instead of garbage or a crash. Field slots come from schema.ts.
 */
import { AppError } from '../../../src-shared/errors';
import { BUILTIN_OPERATOR_NAMES, F, TFLITE_FILE_IDENTIFIER, TENSOR_TYPE_NAMES, type TensorTypeName } from './schema';

class Corrupt extends Error {}

/** A flatbuffer table: field accessors by slot index. */
export class FbTable {
  constructor(
    private readonly v: DataView,
    readonly pos: number,
  ) {}

  private check(at: number, size: number): void {
    if (at < 0 || at + size > this.v.byteLength) throw new Corrupt(`offset ${at} (+${size}) is past the end (${this.v.byteLength} bytes)`);
  }

  /** Absolute position of a field's value, or 0 when absent. */
  private field(slot: number): number {
    this.check(this.pos, 4);
    const vt = this.pos - this.v.getInt32(this.pos, true);
    this.check(vt, 4);
    const vtLen = this.v.getUint16(vt, true);
    const o = 4 + 2 * slot;
    if (o + 2 > vtLen) return 0;
    this.check(vt + o, 2);
    const rel = this.v.getUint16(vt + o, true);
    return rel ? this.pos + rel : 0;
  }

  private deref(at: number): number {
    this.check(at, 4);
    const to = at + this.v.getUint32(at, true);
    this.check(to, 0);
    return to;
  }

  has(slot: number): boolean {
    return this.field(slot) !== 0;
  }
  int32(slot: number, def = 0): number {
    const at = this.field(slot);
    if (!at) return def;
    this.check(at, 4);
    return this.v.getInt32(at, true);
  }
  int8(slot: number, def = 0): number {
    const at = this.field(slot);
    if (!at) return def;
    this.check(at, 1);
    return this.v.getInt8(at);
  }
  uint8(slot: number, def = 0): number {
    const at = this.field(slot);
    if (!at) return def;
    this.check(at, 1);
    return this.v.getUint8(at);
  }
  float32(slot: number, def = 0): number {
    const at = this.field(slot);
    if (!at) return def;
    this.check(at, 4);
    return this.v.getFloat32(at, true);
  }
  uint64(slot: number): number {
    const at = this.field(slot);
    if (!at) return 0;
    this.check(at, 8);
    return Number(this.v.getBigUint64(at, true));
  }
  string(slot: number): string | undefined {
    const at = this.field(slot);
    if (!at) return undefined;
    const s = this.deref(at);
    this.check(s, 4);
    const len = this.v.getUint32(s, true);
    this.check(s + 4, len);
    return new TextDecoder().decode(new Uint8Array(this.v.buffer, this.v.byteOffset + s + 4, len));
  }
  table(slot: number): FbTable | null {
    const at = this.field(slot);
    return at ? new FbTable(this.v, this.deref(at)) : null;
  }
  private vector(slot: number, elem: number): { start: number; len: number } | null {
    const at = this.field(slot);
    if (!at) return null;
    const s = this.deref(at);
    this.check(s, 4);
    const len = this.v.getUint32(s, true);
    this.check(s + 4, len * elem);
    return { start: s + 4, len };
  }
  tables(slot: number): FbTable[] {
    const vec = this.vector(slot, 4);
    if (!vec) return [];
    return Array.from({ length: vec.len }, (_, i) => new FbTable(this.v, this.deref(vec.start + 4 * i)));
  }
  int32s(slot: number): number[] {
    const vec = this.vector(slot, 4);
    return vec ? Array.from({ length: vec.len }, (_, i) => this.v.getInt32(vec.start + 4 * i, true)) : [];
  }
  float32s(slot: number): number[] {
    const vec = this.vector(slot, 4);
    return vec ? Array.from({ length: vec.len }, (_, i) => this.v.getFloat32(vec.start + 4 * i, true)) : [];
  }
  int64s(slot: number): number[] {
    const vec = this.vector(slot, 8);
    return vec ? Array.from({ length: vec.len }, (_, i) => Number(this.v.getBigInt64(vec.start + 8 * i, true))) : [];
  }
  bytes(slot: number): Uint8Array | null {
    const vec = this.vector(slot, 1);
    return vec ? new Uint8Array(this.v.buffer, this.v.byteOffset + vec.start, vec.len) : null;
  }
}

export interface ReadQuant {
  scale: number[];
  zeroPoint: number[];
  quantizedDimension: number;
}
export interface ReadTensor {
  name: string;
  shape: number[];
  type: TensorTypeName;
  buffer: number;
  quant?: ReadQuant;
}
export interface ReadOperator {
  op: string;
  version: number;
  /** Tensor indices; -1 marks an optional input that is absent (e.g. a FULLY_CONNECTED without bias). */
  inputs: number[];
  outputs: number[];
  /** The BuiltinOptions union member of `options` (0 = none). */
  optionsType: number;
  options: FbTable | null;
}
export interface ReadModel {
  version: number;
  description?: string;
  tensors: ReadTensor[];
  inputs: number[];
  outputs: number[];
  operators: ReadOperator[];
  /** Data of each buffer (empty when it has none). */
  buffers: Uint8Array[];
  metadata: { name: string; data: Uint8Array }[];
  subgraphCount: number;
}

/** Root table of a flatbuffer with a 4-character file identifier, or a Corrupt error. */
export function rootTable(bytes: Uint8Array, identifier: string): FbTable {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8) throw new Corrupt(`only ${bytes.length} bytes`);
  const id = String.fromCharCode(...bytes.subarray(4, 8));
  if (id !== identifier) throw new Corrupt(`the file identifier is "${id.replace(/[^\x20-\x7e]/g, '?')}", not "${identifier}"`);
  const root = v.getUint32(0, true);
  if (root + 4 > bytes.length) throw new Corrupt('the root table is past the end');
  return new FbTable(v, root);
}

/** Parses a .tflite file. `what` names it in errors. */
export function readTflite(bytes: Uint8Array, what = 'the file'): ReadModel {
  try {
    const model = rootTable(bytes, TFLITE_FILE_IDENTIFIER);
    const codes = model.tables(F.Model.operator_codes).map((c) => {
      const code = Math.max(c.int8(F.OperatorCode.deprecated_builtin_code), c.int32(F.OperatorCode.builtin_code));
      const custom = c.string(F.OperatorCode.custom_code);
      return { name: code === 32 && custom ? `CUSTOM:${custom}` : (BUILTIN_OPERATOR_NAMES[code] ?? `UNKNOWN_${code}`), version: c.int32(F.OperatorCode.version, 1) };
    });
    const subgraphs = model.tables(F.Model.subgraphs);
    if (!subgraphs.length) throw new Corrupt('it has no subgraph');
    const sg = subgraphs[0];
    const buffers = model.tables(F.Model.buffers).map((b) => {
      const data = b.bytes(F.Buffer.data);
      if (data && data.length) return data;
      const offset = b.uint64(F.Buffer.offset);
      const size = b.uint64(F.Buffer.size);
      if (offset > 1 && size > 0) {
        if (offset + size > bytes.length) throw new Corrupt(`a weight buffer (offset ${offset}, ${size} bytes) is past the end`);
        return bytes.subarray(offset, offset + size);
      }
      return new Uint8Array(0);
    });
    const tensors = sg.tables(F.SubGraph.tensors).map((t): ReadTensor => {
      const q = t.table(F.Tensor.quantization);
      const scale = q ? q.float32s(F.QuantizationParameters.scale) : [];
      const typeCode = t.int8(F.Tensor.type);
      return {
        name: t.string(F.Tensor.name) ?? '',
        shape: t.int32s(F.Tensor.shape),
        type: TENSOR_TYPE_NAMES[typeCode] ?? (`TYPE_${typeCode}` as TensorTypeName),
        buffer: t.int32(F.Tensor.buffer),
        ...(q && scale.length
          ? { quant: { scale, zeroPoint: q.int64s(F.QuantizationParameters.zero_point), quantizedDimension: q.int32(F.QuantizationParameters.quantized_dimension) } }
          : {}),
      };
    });
    const operators = sg.tables(F.SubGraph.operators).map((o): ReadOperator => {
      const idx = o.int32(F.Operator.opcode_index);
      const code = codes[idx];
      if (!code) throw new Corrupt(`an operator uses operator code ${idx}, but only ${codes.length} exist`);
      return {
        op: code.name,
        version: code.version,
        inputs: o.int32s(F.Operator.inputs),
        outputs: o.int32s(F.Operator.outputs),
        optionsType: o.uint8(F.Operator.builtin_options_type),
        options: o.table(F.Operator.builtin_options),
      };
    });
    // Every index is checked here, so readers of the result can index without guarding against a hostile file.
    const tensorIndex = (i: number, what: string, optional: boolean) => {
      if (i >= tensors.length || i < (optional ? -1 : 0)) throw new Corrupt(`${what} refers to tensor ${i}, but only tensors 0 to ${tensors.length - 1} exist`);
    };
    operators.forEach((op, n) => {
      for (const i of op.inputs) tensorIndex(i, `operator ${n} (${op.op})`, true);
      for (const i of op.outputs) tensorIndex(i, `operator ${n} (${op.op})`, false);
    });
    const inputs = sg.int32s(F.SubGraph.inputs);
    const outputs = sg.int32s(F.SubGraph.outputs);
    for (const i of inputs) tensorIndex(i, 'the model input list', false);
    for (const i of outputs) tensorIndex(i, 'the model output list', false);
    for (const t of tensors) {
      if (t.buffer < 0 || t.buffer >= buffers.length) throw new Corrupt(`tensor "${t.name}" refers to buffer ${t.buffer}, but only buffers 0 to ${buffers.length - 1} exist`);
      if (t.shape.some((d) => d < -1)) throw new Corrupt(`tensor "${t.name}" has the shape [${t.shape.join(', ')}]`);
    }
    const metadata = model.tables(F.Model.metadata).map((m) => ({ name: m.string(F.Metadata.name) ?? '', data: buffers[m.int32(F.Metadata.buffer)] ?? new Uint8Array(0) }));
    return {
      version: model.int32(F.Model.version),
      description: model.string(F.Model.description),
      tensors,
      inputs,
      outputs,
      operators,
      buffers,
      metadata,
      subgraphCount: subgraphs.length,
    };
  } catch (err) {
    if (err instanceof Corrupt || err instanceof RangeError) {
      throw new AppError('INVALID_FILE', `${what} is not a readable .tflite model (${err.message}); it may be truncated or corrupt. Export or download it again.`);
    }
    throw err;
  }
}
