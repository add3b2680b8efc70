import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../tf';
import { buildTemplate } from '../../models';
import { calibrateMinMax } from './minmax';
import { activationQuant, dequantizeValue, MAX_REQUANT_SCALE, quantizeValue, requantizableOutput, SOFTMAX_OUTPUT_QUANT, validateQuantParams, weightScale } from './params';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

describe('QuantParams rules', () => {
  it('makes asymmetric int8 parameters whose range contains 0 and represents 0 exactly', () => {
    const q = activationQuant(0.5, 6);
    expect(q.min).toBeLessThanOrEqual(0);
    expect(q.max).toBeGreaterThanOrEqual(6 - q.scale);
    expect(q.zeroPoint).toBe(-128); // [0, 6] maps 0 to the lowest code
    expect(dequantizeValue(quantizeValue(0, q.scale, q.zeroPoint), q.scale, q.zeroPoint)).toBe(0);
    const sym = activationQuant(-2, 2);
    expect(Math.abs(sym.zeroPoint)).toBeLessThanOrEqual(1);
    expect(sym.scale).toBeCloseTo(4 / 255, 9);
    expect(() => activationQuant(1, -1)).toThrow(/min ≤ max/);
  });

  it('weights are symmetric over ±127 and values clamp to the int8 range', () => {
    expect(weightScale(2.54)).toBeCloseTo(0.02, 12);
    expect(quantizeValue(2.54, 0.02, 0, -127, 127)).toBe(127);
    expect(quantizeValue(-10, 0.02, 0, -127, 127)).toBe(-127);
    expect(quantizeValue(-0.03, 0.02, 0)).toBe(-2); // half away from zero
    expect(SOFTMAX_OUTPUT_QUANT).toMatchObject({ scale: 1 / 256, zeroPoint: -128 });
  });

  it('rejects malformed parameters naming the layer', () => {
    expect(() => validateQuantParams({ version: 1, activations: { conv1: { scale: 0, zeroPoint: 0, min: 0, max: 0 } }, calibration: { observer: 'minmax', samples: 1 } })).toThrow(/conv1/);
    expect(() => validateQuantParams({ activations: {} })).toThrow(/version 1/);
  });
});

describe('min-max calibration', () => {
  it('records every layer, copies input parameters through pooling and flatten, warns on few samples', () => {
    const model = buildTemplate({ template: 'lenet', inputShape: [12, 12, 1], numClasses: 3, filters: [4], dense: [8], seed: 1 });
    const n = 8;
    const x = Float32Array.from({ length: n * 144 }, (_, i) => ((i * 7919) % 256) / 255);
    const { params, warnings } = calibrateMinMax(model, { x, n, sampleShape: [12, 12, 1] });
    expect(Object.keys(params.activations).sort()).toEqual(model.layers.map((l) => l.name).sort());
    expect(params.activations.input.min).toBeLessThanOrEqual(0);
    expect(params.activations.input.max).toBeGreaterThanOrEqual(1 - params.activations.input.scale);
    expect(params.activations.conv1.zeroPoint).toBe(-128); // ReLU output: range starts at 0
    expect(params.activations.pool1).toEqual(params.activations.conv1);
    expect(params.activations.flatten).toEqual(params.activations.pool1);
    expect(params.calibration).toEqual({ observer: 'minmax', samples: n });
    expect(warnings[0]).toMatch(/Only 8 calibration samples/);
    expect(validateQuantParams(JSON.parse(JSON.stringify(params)))).toEqual(params);
  });

  it('widens a collapsed conv/dense output range until the requantization scale is below 256, keeping 0 exact', () => {
    const dead = activationQuant(0, 0); // a ReLU that was 0 on every calibration sample
    const inScale = 2e-5;
    const w = [3e-3, 4e-3];
    expect((inScale * 4e-3) / dead.scale).toBeGreaterThan(256);
    const q = requantizableOutput(dead, inScale, w);
    expect((inScale * 4e-3) / q.scale).toBeCloseTo(MAX_REQUANT_SCALE, 6);
    expect(q.zeroPoint).toBe(dead.zeroPoint);
    expect(q.min).toBe(0);
    expect(q.max).toBeCloseTo(255 * q.scale, 12);
    const normal = activationQuant(-1, 3);
    expect(requantizableOutput(normal, 0.01, w)).toBe(normal);
  });
});
