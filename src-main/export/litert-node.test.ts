import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TfliteGraph } from '../../test/helpers/tflite-builder';
import { liteRtHeapBytes, loadLiteRt, loadTfliteModel } from './litert-node';
import { Op, TensorType } from './tflite/schema';
import { options, serializeModel } from './tflite/write';

const faceDetection = fileURLToPath(new URL('../../test/fixtures/models/face_detection_short_range.tflite', import.meta.url));

/** y = x W^T + b, x [1,4], W [3,4]: the smallest model that exercises weights in buffers. */
function tinyDense(): { bytes: Uint8Array; w: number[][]; b: number[] } {
  const w = [
    [1, 2, 3, 4],
    [-1, 0.5, 0, 2],
    [0.25, -0.25, 1, -1],
  ];
  const b = [0.5, -1, 2];
  const bytes = serializeModel({
    operatorCodes: [{ code: Op.FULLY_CONNECTED, version: 1 }],
    buffers: [new Uint8Array(0), f32(w.flat()), f32(b)],
    tensors: [
      { name: 'x', shape: [1, 4], type: TensorType.FLOAT32, buffer: 0 },
      { name: 'w', shape: [3, 4], type: TensorType.FLOAT32, buffer: 1 },
      { name: 'b', shape: [3], type: TensorType.FLOAT32, buffer: 2 },
      { name: 'y', shape: [1, 3], type: TensorType.FLOAT32, buffer: 0 },
    ],
    inputs: [0],
    outputs: [3],
    operators: [{ opcodeIndex: 0, inputs: [0, 1, 2], outputs: [3], options: options.fullyConnected({}) }],
  });
  return { bytes, w, b };
}

function f32(v: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(v).buffer);
}

describe('litert-node', () => {
  it('loads the runtime once per process', async () => {
    const a = await loadLiteRt();
    const b = await loadLiteRt();
    expect(a).toBe(b);
    expect(a.info.build).toMatch(/^litert_wasm_.*\.js$/);
  });

  it('runs a model written here and matches the arithmetic', async () => {
    const { bytes, w, b } = tinyDense();
    const model = await loadTfliteModel(bytes);
    expect(model.inputs).toEqual([{ name: 'x', index: 0, dtype: 'float32', shape: [1, 4] }]);
    expect(model.outputs[0]).toMatchObject({ dtype: 'float32', shape: [1, 3] });
    const x = [0.5, -2, 1.5, 3];
    const [y] = await model.run([new Float32Array(x)]);
    const expected = w.map((row, i) => row.reduce((s, wv, j) => s + wv * x[j], b[i]));
    expect(Array.from(y)).toEqual(expected.map((v) => Math.fround(v)));
    model.close();
    model.close();
    await expect(model.run([new Float32Array(x)])).rejects.toThrow(/closed/);
  });

  it('feeds int32 tensors', async () => {
    const bytes = serializeModel({
      operatorCodes: [{ code: Op.ADD, version: 1 }],
      buffers: [new Uint8Array(0)],
      tensors: [
        { name: 'a', shape: [1, 3], type: TensorType.INT32, buffer: 0 },
        { name: 'b', shape: [1, 3], type: TensorType.INT32, buffer: 0 },
        { name: 'sum', shape: [1, 3], type: TensorType.INT32, buffer: 0 },
      ],
      inputs: [0, 1],
      outputs: [2],
      operators: [{ opcodeIndex: 0, inputs: [0, 1], outputs: [2], options: options.add({}) }],
    });
    const model = await loadTfliteModel(bytes);
    const [y] = await model.run([new Int32Array([1, -2, 300000]), new Int32Array([5, 7, 1])]);
    expect(y).toBeInstanceOf(Int32Array);
    expect(Array.from(y)).toEqual([6, 5, 300001]);
    model.close();
  });

  it('runs a real .tflite from another converter (MediaPipe face detection)', async () => {
    const model = await loadTfliteModel(faceDetection);
    expect(model.inputs).toEqual([{ name: 'input', index: 0, dtype: 'float32', shape: [1, 128, 128, 3] }]);
    expect(model.outputs.map((o) => o.shape)).toEqual([
      [1, 896, 16],
      [1, 896, 1],
    ]);
    const x = new Float32Array(128 * 128 * 3).fill(0.5);
    const first = await model.run([x]);
    const again = await model.run([x]);
    expect(first[0].length).toBe(896 * 16);
    expect(Array.from(again[1])).toEqual(Array.from(first[1]));
    expect(first[1].every((v) => Number.isFinite(v))).toBe(true);
    model.close();
  });

  it('rejects wrong inputs with a message naming the input', async () => {
    const model = await loadTfliteModel(tinyDense().bytes);
    await expect(model.run([new Float32Array(3)])).rejects.toThrow(/Input 0 \(x\).*4 values, got 3/);
    await expect(model.run([new Int32Array(4)])).rejects.toThrow(/float32/);
    await expect(model.run([])).rejects.toThrow(/1 input/);
    model.close();
  });

  it('names a custom operator it cannot run, without blaming quantization ranges', async () => {
    const g = new TfliteGraph();
    const a = g.value('a', [1, 4]);
    const b = g.value('b', [1, 4]);
    g.op('CUSTOM:MyVendorOp', [a], [b]);
    const m = await loadTfliteModel(g.bytes([a], [b]));
    const err = await m.run([new Float32Array(4)]).catch((e) => e);
    m.close();
    expect(err.message).toMatch(/the model uses the custom operator "MyVendorOp", which is not part of TFLite/);
    expect(err.message).not.toMatch(/quantization|calibrat/);
  });

  it('explains a file that is not a model', async () => {
    await expect(loadTfliteModel(new Uint8Array(64).fill(7))).rejects.toThrow(/LiteRT could not load/);
    const truncated = new Uint8Array(readFileSync(faceDetection)).slice(0, 50_000);
    await expect(loadTfliteModel(truncated)).rejects.toThrow(/LiteRT could not load/);
  });

  it('does not leak across repeated runs and loads', async () => {
    const bytes = new Uint8Array(readFileSync(faceDetection));
    const x = new Float32Array(128 * 128 * 3).fill(0.25);
    // Warm up: the runtime's heap grows to its working size on first use, then must stay there.
    for (let i = 0; i < 3; i++) {
      const m = await loadTfliteModel(bytes);
      await m.run([x]);
      m.close();
    }
    const before = await liteRtHeapBytes();
    for (let i = 0; i < 25; i++) {
      const m = await loadTfliteModel(bytes);
      for (let j = 0; j < 4; j++) await m.run([x]);
      m.close();
    }
    const model = await loadTfliteModel(tinyDense().bytes);
    for (let i = 0; i < 2000; i++) await model.run([new Float32Array(4)]);
    model.close();
    // 25 leaked copies of a 229 KB model, or 2000 leaked tensors, would each grow the heap by MBs.
    expect(await liteRtHeapBytes()).toBe(before);
  });
});
