import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '../store';
import { runReportHtml } from './html';

describe('HTML run report', () => {
  it('is self-contained, escapes user text, and carries curves, sweep, artifacts and benchmarks', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pb-report-'));
    const store = new Store(path.join(dir, 'h.sqlite'));
    const runId = store.runs.create({ name: '<img src=x onerror=alert(1)>', recipe: { stages: [] }, recipeHash: 'abcdef0123456789', seed: 3, appVersion: '0.1.0', stages: [{ kind: 'distill' }] });
    store.runs.updateStage(runId, 0, { status: 'running' });
    store.runs.updateStage(runId, 0, {
      status: 'succeeded',
      metrics: { accuracy: 0.8912, ece: 0.2891, params: 27_000, note: 'Distillation did not beat the control.', sweep: [{ temperature: 1, alpha: 0.7, valAccuracy: 0.88 }, { temperature: 4, alpha: 0.7, valAccuracy: 0.89 }] },
      curves: { loss: [1.2, 0.7, 0.5], valAccuracy: [0.8, 0.85, 0.89] },
    });
    const stageId = store.runs.stages(runId)[0].id;
    const art = store.artifacts.create({ runId, stageId, name: 'student-int8.tflite', format: 'tflite', path: '/x.tflite', contentHash: 'f'.repeat(64), bytes: 31_000, precision: 'int8' });
    const dev = store.devices.upsert('SER', 'android', { manufacturer: 'Google', model: 'Pixel 7' });
    const b = store.benchmarks.create({ artifactId: art, deviceId: dev, config: { threads: 4 } });
    store.benchmarks.finish(b, { status: 'succeeded', latencyUs: 1234, ciLowUs: 1200, ciHighUs: 1270, cv: 0.02, runnerSha256: 'a'.repeat(64) });
    const html = runReportHtml(store, store.runs.get(runId)!);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
    expect(html).toContain('89.12 %');
    // Human labels and the app's units (ECE as a percentage, as in the run view), the result first.
    expect(html).toContain('<th title="Expected calibration error');
    expect(html).toMatch(/Calibration error \(ECE\)<\/th><td>28\.91 %/);
    expect(html).toMatch(/<h2>Result<\/h2>.*Accuracy \(TF\.js, not exported\).*89\.12 %/s);
    expect(html).toContain('Distillation did not beat the control.');
    expect(html).toContain('<h2>1. Distill into the student <span'); // stages named in words, as in the app
    expect((html.match(/<svg/g) ?? []).length).toBe(3); // loss, accuracy, sweep
    expect(html).toContain('student-int8.tflite');
    expect(html).toContain('Google Pixel 7');
    expect(html).toContain('1.234 ms');
    expect(html).toContain("default-src 'none'");
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
