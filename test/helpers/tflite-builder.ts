/**
 * Builds small `.tflite` graphs operator by operator, for tests of readers and importers: operators
 * our exporter never writes (HARD_SWISH on its own, ADD/SUB/MUL by constants, SQUEEZE, PADV2, a
 * CUSTOM operator...) and deliberately broken files. Serialised by the same flatbuffers writer as
 * the exporter; LiteRT running the result is the independent check that a graph means what the test
 * thinks it means.
 */
import { BUILTIN_OPERATOR_NAMES, TensorType } from '../../src-main/export/tflite/schema';
import { type FbOperator, type FbOptions, type FbTensor, serializeModel } from '../../src-main/export/tflite/write';

type Data = Float32Array | Int32Array | Uint16Array | Int8Array | Uint8Array;

export class TfliteGraph {
  readonly tensors: FbTensor[] = [];
  readonly buffers: Uint8Array[] = [new Uint8Array(0)];
  readonly operators: FbOperator[] = [];
  private readonly codes: { code: number; version: number; customCode?: string }[] = [];

  /** An activation tensor (no data). */
  value(name: string, shape: number[], type: number = TensorType.FLOAT32): number {
    this.tensors.push({ name, shape, type, buffer: 0 });
    return this.tensors.length - 1;
  }

  /** A constant tensor; the type follows the array unless given. */
  constant(name: string, shape: number[], data: Data, type?: number): number {
    const t = type ?? (data instanceof Float32Array ? TensorType.FLOAT32 : data instanceof Int32Array ? TensorType.INT32 : data instanceof Uint16Array ? TensorType.FLOAT16 : TensorType.INT8);
    this.buffers.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
    this.tensors.push({ name, shape, type: t, buffer: this.buffers.length - 1 });
    return this.tensors.length - 1;
  }

  /** Appends an operator by its builtin name (or `CUSTOM:<code>`). */
  op(name: string, inputs: number[], outputs: number[], options?: FbOptions, version = 1): this {
    const custom = name.startsWith('CUSTOM:') ? name.slice(7) : undefined;
    const code = custom !== undefined ? 32 : BUILTIN_OPERATOR_NAMES.indexOf(name);
    if (code < 0) throw new Error(`No builtin operator ${name}`);
    let idx = this.codes.findIndex((c) => c.code === code && c.version === version && c.customCode === custom);
    if (idx < 0) {
      this.codes.push({ code, version, ...(custom !== undefined ? { customCode: custom } : {}) });
      idx = this.codes.length - 1;
    }
    this.operators.push({ opcodeIndex: idx, inputs, outputs, ...(options ? { options } : {}) });
    return this;
  }

  bytes(inputs: number[], outputs: number[]): Uint8Array {
    return serializeModel({ operatorCodes: this.codes, tensors: this.tensors, inputs, outputs, operators: this.operators, buffers: this.buffers });
  }
}
