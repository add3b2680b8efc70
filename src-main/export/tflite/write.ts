/**
 * Serialises a TFLite model (schema version 3) with the `flatbuffers` runtime's Builder.
 * Knows the file format only: what goes in it is decided by the exporter (../exporter.ts).
 */
import { Builder } from 'flatbuffers';
import {
  BuiltinOptions,
  F,
  PLACEHOLDER_FOR_GREATER_OP_CODES,
  TFLITE_FILE_IDENTIFIER,
  TFLITE_SCHEMA_VERSION,
  type ActivationName,
  Activation,
  Padding,
} from './schema';

export interface FbQuant {
  scale: number[];
  zeroPoint: number[];
  /** Axis the per-channel scales run along; omitted (0) for per-tensor. */
  quantizedDimension?: number;
  min?: number[];
  max?: number[];
}

export interface FbTensor {
  name: string;
  shape: number[];
  /** A TensorType value. */
  type: number;
  /** Index into `buffers`; 0 = no data (the always-empty buffer). */
  buffer: number;
  quantization?: FbQuant;
}

/** A builtin options table: its BuiltinOptions union index and a function that writes it. */
export interface FbOptions {
  type: number;
  write: (b: Builder) => number;
}

export interface FbOperator {
  opcodeIndex: number;
  inputs: number[];
  outputs: number[];
  options?: FbOptions;
}

export interface FbModelSpec {
  /** `customCode` names a CUSTOM (code 32) operator. */
  operatorCodes: { code: number; version: number; customCode?: string }[];
  tensors: FbTensor[];
  inputs: number[];
  outputs: number[];
  operators: FbOperator[];
  subgraphName?: string;
  /** Index 0 must be empty (the schema's sentinel); weights go in later buffers. */
  buffers: Uint8Array[];
  description?: string;
  metadata?: { name: string; buffer: number }[];
  signature?: { key: string; inputs: { name: string; tensor: number }[]; outputs: { name: string; tensor: number }[] };
}

/** Buffers holding weights start on this boundary (the schema's `force_align: 16`), so runtimes can mmap them. */
export const BUFFER_ALIGNMENT = 16;

export function serializeModel(spec: FbModelSpec): Uint8Array {
  if (spec.buffers.length === 0 || spec.buffers[0].length !== 0) {
    throw new Error('Buffer 0 must exist and be empty (it is the schema sentinel for tensors without data).');
  }
  const dataBytes = spec.buffers.reduce((n, d) => n + d.length + BUFFER_ALIGNMENT, 0);
  const b = new Builder(dataBytes + 64 * 1024);

  // Buffers first: they are the big part, and writing them while the builder is still small keeps
  // the copies from growing the backing store cheap.
  const bufferOffsets = spec.buffers.map((data) => {
    const dataOffset = data.length > 0 ? alignedBytes(b, data, BUFFER_ALIGNMENT) : 0;
    b.startObject(3);
    if (dataOffset) b.addFieldOffset(F.Buffer.data, dataOffset, 0);
    return b.endObject();
  });
  const buffersVec = offsetVector(b, bufferOffsets);

  const tensorOffsets = spec.tensors.map((t) => writeTensor(b, t));
  const operatorOffsets = spec.operators.map((op) => {
    const inputs = int32Vector(b, op.inputs);
    const outputs = int32Vector(b, op.outputs);
    const options = op.options ? op.options.write(b) : 0;
    b.startObject(13);
    b.addFieldInt32(F.Operator.opcode_index, op.opcodeIndex, 0);
    b.addFieldOffset(F.Operator.inputs, inputs, 0);
    b.addFieldOffset(F.Operator.outputs, outputs, 0);
    if (op.options) {
      b.addFieldInt8(F.Operator.builtin_options_type, op.options.type, 0);
      b.addFieldOffset(F.Operator.builtin_options, options, 0);
    }
    return b.endObject();
  });
  const subgraphName = b.createString(spec.subgraphName ?? 'main');
  const tensorsVec = offsetVector(b, tensorOffsets);
  const inputsVec = int32Vector(b, spec.inputs);
  const outputsVec = int32Vector(b, spec.outputs);
  const operatorsVec = offsetVector(b, operatorOffsets);
  b.startObject(5);
  b.addFieldOffset(F.SubGraph.tensors, tensorsVec, 0);
  b.addFieldOffset(F.SubGraph.inputs, inputsVec, 0);
  b.addFieldOffset(F.SubGraph.outputs, outputsVec, 0);
  b.addFieldOffset(F.SubGraph.operators, operatorsVec, 0);
  b.addFieldOffset(F.SubGraph.name, subgraphName, 0);
  const subgraph = b.endObject();
  const subgraphsVec = offsetVector(b, [subgraph]);

  const opcodeOffsets = spec.operatorCodes.map(({ code, version, customCode }) => {
    const custom = customCode !== undefined ? b.createString(customCode) : 0;
    b.startObject(4);
    if (custom) b.addFieldOffset(F.OperatorCode.custom_code, custom, 0);
    // Old runtimes read only the 8-bit field; new ones read the larger of the two.
    b.addFieldInt8(F.OperatorCode.deprecated_builtin_code, Math.min(code, PLACEHOLDER_FOR_GREATER_OP_CODES), 0);
    b.addFieldInt32(F.OperatorCode.version, version, 1);
    b.addFieldInt32(F.OperatorCode.builtin_code, code, 0);
    return b.endObject();
  });
  const opcodesVec = offsetVector(b, opcodeOffsets);

  const metadataVec = spec.metadata?.length
    ? offsetVector(
        b,
        spec.metadata.map((m) => {
          const name = b.createString(m.name);
          b.startObject(2);
          b.addFieldOffset(F.Metadata.name, name, 0);
          b.addFieldInt32(F.Metadata.buffer, m.buffer, 0);
          return b.endObject();
        }),
      )
    : 0;

  let signaturesVec = 0;
  if (spec.signature) {
    const tensorMap = (entries: { name: string; tensor: number }[]) =>
      offsetVector(
        b,
        entries.map((e) => {
          const name = b.createString(e.name);
          b.startObject(2);
          b.addFieldOffset(F.TensorMap.name, name, 0);
          b.addFieldInt32(F.TensorMap.tensor_index, e.tensor, 0);
          return b.endObject();
        }),
      );
    const sigIn = tensorMap(spec.signature.inputs);
    const sigOut = tensorMap(spec.signature.outputs);
    const key = b.createString(spec.signature.key);
    b.startObject(5);
    b.addFieldOffset(F.SignatureDef.inputs, sigIn, 0);
    b.addFieldOffset(F.SignatureDef.outputs, sigOut, 0);
    b.addFieldOffset(F.SignatureDef.signature_key, key, 0);
    b.addFieldInt32(F.SignatureDef.subgraph_index, 0, 0);
    signaturesVec = offsetVector(b, [b.endObject()]);
  }

  const description = b.createString(spec.description ?? '');
  b.startObject(8);
  b.addFieldInt32(F.Model.version, TFLITE_SCHEMA_VERSION, 0);
  b.addFieldOffset(F.Model.operator_codes, opcodesVec, 0);
  b.addFieldOffset(F.Model.subgraphs, subgraphsVec, 0);
  b.addFieldOffset(F.Model.description, description, 0);
  b.addFieldOffset(F.Model.buffers, buffersVec, 0);
  if (metadataVec) b.addFieldOffset(F.Model.metadata, metadataVec, 0);
  if (signaturesVec) b.addFieldOffset(F.Model.signature_defs, signaturesVec, 0);
  const model = b.endObject();
  b.finish(model, TFLITE_FILE_IDENTIFIER);
  return b.asUint8Array().slice();
}

function writeTensor(b: Builder, t: FbTensor): number {
  const shape = int32Vector(b, t.shape);
  const name = b.createString(t.name);
  const quant = t.quantization ? writeQuant(b, t.quantization) : 0;
  b.startObject(10);
  b.addFieldOffset(F.Tensor.shape, shape, 0);
  b.addFieldInt8(F.Tensor.type, t.type, 0);
  b.addFieldInt32(F.Tensor.buffer, t.buffer, 0);
  b.addFieldOffset(F.Tensor.name, name, 0);
  if (quant) b.addFieldOffset(F.Tensor.quantization, quant, 0);
  return b.endObject();
}

function writeQuant(b: Builder, q: FbQuant): number {
  const min = q.min ? float32Vector(b, q.min) : 0;
  const max = q.max ? float32Vector(b, q.max) : 0;
  const scale = float32Vector(b, q.scale);
  b.startVector(8, q.zeroPoint.length, 8);
  for (let i = q.zeroPoint.length - 1; i >= 0; i--) b.addInt64(BigInt(q.zeroPoint[i]));
  const zp = b.endVector();
  b.startObject(7);
  if (min) b.addFieldOffset(F.QuantizationParameters.min, min, 0);
  if (max) b.addFieldOffset(F.QuantizationParameters.max, max, 0);
  b.addFieldOffset(F.QuantizationParameters.scale, scale, 0);
  b.addFieldOffset(F.QuantizationParameters.zero_point, zp, 0);
  b.addFieldInt32(F.QuantizationParameters.quantized_dimension, q.quantizedDimension ?? 0, 0);
  return b.endObject();
}

/** `createByteVector` with an alignment for the data (the runtime's version aligns to 1). */
function alignedBytes(b: Builder, data: Uint8Array, align: number): number {
  b.startVector(1, data.length, align);
  // Same steps as Builder.createByteVector; `space` is private in the typings only.
  const inner = b as unknown as { space: number; bb: { setPosition(p: number): void; bytes(): Uint8Array } };
  inner.space -= data.length;
  inner.bb.setPosition(inner.space);
  inner.bb.bytes().set(data, inner.space);
  return b.endVector();
}

export function int32Vector(b: Builder, values: readonly number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]);
  return b.endVector();
}

export function float32Vector(b: Builder, values: readonly number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i]);
  return b.endVector();
}

export function offsetVector(b: Builder, offsets: readonly number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
  return b.endVector();
}

// ---- builtin options tables -------------------------------------------------------------------

type Pad = 'same' | 'valid';
const pad = (p: Pad) => (p === 'same' ? Padding.SAME : Padding.VALID);
const act = (a: ActivationName | undefined) => Activation[a ?? 'NONE'];

export const options = {
  conv2d(o: { padding: Pad; strideH: number; strideW: number; dilationH: number; dilationW: number; activation?: ActivationName }): FbOptions {
    return {
      type: BuiltinOptions.Conv2DOptions,
      write: (b) => {
        const f = F.Conv2DOptions;
        b.startObject(7);
        b.addFieldInt8(f.padding, pad(o.padding), 0);
        b.addFieldInt32(f.stride_w, o.strideW, 0);
        b.addFieldInt32(f.stride_h, o.strideH, 0);
        b.addFieldInt8(f.fused_activation_function, act(o.activation), 0);
        b.addFieldInt32(f.dilation_w_factor, o.dilationW, 1);
        b.addFieldInt32(f.dilation_h_factor, o.dilationH, 1);
        return b.endObject();
      },
    };
  },
  depthwiseConv2d(o: {
    padding: Pad; strideH: number; strideW: number; depthMultiplier: number; dilationH: number; dilationW: number; activation?: ActivationName;
  }): FbOptions {
    return {
      type: BuiltinOptions.DepthwiseConv2DOptions,
      write: (b) => {
        const f = F.DepthwiseConv2DOptions;
        b.startObject(7);
        b.addFieldInt8(f.padding, pad(o.padding), 0);
        b.addFieldInt32(f.stride_w, o.strideW, 0);
        b.addFieldInt32(f.stride_h, o.strideH, 0);
        b.addFieldInt32(f.depth_multiplier, o.depthMultiplier, 0);
        b.addFieldInt8(f.fused_activation_function, act(o.activation), 0);
        b.addFieldInt32(f.dilation_w_factor, o.dilationW, 1);
        b.addFieldInt32(f.dilation_h_factor, o.dilationH, 1);
        return b.endObject();
      },
    };
  },
  pool2d(o: { padding: Pad; strideH: number; strideW: number; filterH: number; filterW: number; activation?: ActivationName }): FbOptions {
    return {
      type: BuiltinOptions.Pool2DOptions,
      write: (b) => {
        const f = F.Pool2DOptions;
        b.startObject(6);
        b.addFieldInt8(f.padding, pad(o.padding), 0);
        b.addFieldInt32(f.stride_w, o.strideW, 0);
        b.addFieldInt32(f.stride_h, o.strideH, 0);
        b.addFieldInt32(f.filter_width, o.filterW, 0);
        b.addFieldInt32(f.filter_height, o.filterH, 0);
        b.addFieldInt8(f.fused_activation_function, act(o.activation), 0);
        return b.endObject();
      },
    };
  },
  fullyConnected(o: { activation?: ActivationName; asymmetricQuantizeInputs?: boolean }): FbOptions {
    return {
      type: BuiltinOptions.FullyConnectedOptions,
      write: (b) => {
        const f = F.FullyConnectedOptions;
        b.startObject(5);
        b.addFieldInt8(f.fused_activation_function, act(o.activation), 0);
        if (o.asymmetricQuantizeInputs) b.addFieldInt8(f.asymmetric_quantize_inputs, 1, 0);
        return b.endObject();
      },
    };
  },
  softmax(beta = 1): FbOptions {
    return {
      type: BuiltinOptions.SoftmaxOptions,
      write: (b) => {
        b.startObject(1);
        b.addFieldFloat32(F.SoftmaxOptions.beta, beta, 0);
        return b.endObject();
      },
    };
  },
  concatenation(o: { axis: number; activation?: ActivationName }): FbOptions {
    return {
      type: BuiltinOptions.ConcatenationOptions,
      write: (b) => {
        b.startObject(2);
        b.addFieldInt32(F.ConcatenationOptions.axis, o.axis, 0);
        b.addFieldInt8(F.ConcatenationOptions.fused_activation_function, act(o.activation), 0);
        return b.endObject();
      },
    };
  },
  add(o: { activation?: ActivationName }): FbOptions {
    return {
      type: BuiltinOptions.AddOptions,
      write: (b) => {
        b.startObject(2);
        b.addFieldInt8(F.AddOptions.fused_activation_function, act(o.activation), 0);
        return b.endObject();
      },
    };
  },
  mul(o: { activation?: ActivationName }): FbOptions {
    return {
      type: BuiltinOptions.MulOptions,
      write: (b) => {
        b.startObject(1);
        b.addFieldInt8(F.MulOptions.fused_activation_function, act(o.activation), 0);
        return b.endObject();
      },
    };
  },
  reshape(newShape: number[]): FbOptions {
    return {
      type: BuiltinOptions.ReshapeOptions,
      write: (b) => {
        const v = int32Vector(b, newShape);
        b.startObject(1);
        b.addFieldOffset(F.ReshapeOptions.new_shape, v, 0);
        return b.endObject();
      },
    };
  },
  reducer(keepDims: boolean): FbOptions {
    return {
      type: BuiltinOptions.ReducerOptions,
      write: (b) => {
        b.startObject(1);
        b.addFieldInt8(F.ReducerOptions.keep_dims, keepDims ? 1 : 0, 0);
        return b.endObject();
      },
    };
  },
  empty(type: number): FbOptions {
    return {
      type,
      write: (b) => {
        b.startObject(0);
        return b.endObject();
      },
    };
  },
};
