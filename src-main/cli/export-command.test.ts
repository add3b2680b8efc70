import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectTflite } from '../export/inspect';
import { inspectReport } from './export-command';

const FIXTURE = path.resolve(import.meta.dirname, '../../test/fixtures/models/face_detection_short_range.tflite');

describe('pocketbench inspect', () => {
  it('prints precision, tensors and operators with versions', () => {
    const text = inspectReport(inspectTflite(FIXTURE));
    expect(text).toMatch(/^face_detection_short_range\.tflite: fp16, \d+ bytes, schema 3/);
    expect(text).toMatch(/input\s+input\s+\[1, 128, 128, 3\]\s+float32/);
    expect(text).toMatch(/DEPTHWISE_CONV_2D\s+1\s+\d+/);
  });
});
