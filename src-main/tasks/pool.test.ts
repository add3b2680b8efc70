/**
 * Heavy requests never run in the host process (issue 16 item 5): unbounded inputs are refused by
 * validation before any worker starts, a model that multiplies into something enormous is refused
 * before its weights exist, and a request that runs past its time limit ends with a clear error while
 * the host's event loop keeps turning (measured during the call: timers keep firing).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { ErrorInfo } from '../../src-shared/errors';
import { type HostHarness, hostHarness } from '../../test/helpers/host-harness';

let h: HostHarness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

type Reply = { ok: true; result: unknown } | { ok: false; error: ErrorInfo };
const call = (m: string, args: unknown) => h!.call(m, args) as Promise<Reply>;
const lenet = { model: { template: 'lenet', width: 1 }, inputShape: [28, 28, 1], numClasses: 10 };

describe('heavy work runs in task workers, with bounded inputs and time limits', () => {
  it('refuses unbounded template options and input shapes by validation, before any worker starts', async () => {
    h = hostHarness('pb-tasks-');
    const cases: [unknown, RegExp][] = [
      [{ ...lenet, model: { template: 'mlp', options: { hidden: [1e9] } } }, /model\.options\.hidden\.0.*at most 16384/],
      [{ ...lenet, model: { template: 'mlp', options: { hidden: Array(1000).fill(8) } } }, /at most 16 hidden layers/],
      [{ ...lenet, model: { template: 'resnet', options: { blocksPerStage: 1e6 } } }, /blocksPerStage.*at most 16/],
      [{ ...lenet, model: { template: 'mlp', options: { depth: 5 } } }, /unknown option depth/],
      [{ ...lenet, inputShape: [100_000, 100_000, 3] }, /inputShape.*at most 4,194,304 values/],
    ];
    for (const [args, message] of cases) {
      const r = await call('models.summary', args);
      expect(r.ok).toBe(false);
      expect(r.ok ? '' : `${r.error.code} ${r.error.message}`).toMatch(/INVALID_ARGS/);
      expect(r.ok ? '' : r.error.message).toMatch(message);
    }
    const recipe = {
      name: 'x',
      dataset: { kind: 'fashion-mnist' },
      stages: [{ kind: 'train-teacher', model: { template: 'mobilenet', options: { blocks: Array(100).fill({ filters: 8, stride: 1 }) } } }],
    };
    const r = await call('recipes.estimate', { recipe });
    expect(r.ok ? '' : r.error.message).toMatch(/stages\.0\.model\.options\.blocks: at most 32 blocks/);
    expect(h.host.tasks.spawned).toBe(0);
  });

  it('refuses a model whose bounded options multiply into an enormous one before allocating it', async () => {
    h = hostHarness('pb-tasks-');
    // Every field is within its bounds; together they make 16 dense layers of 131,072 units (~2.7e11 parameters).
    const r = await call('models.summary', { model: { template: 'mlp', width: 8, options: { hidden: Array(16).fill(16_384) } }, inputShape: [784], numClasses: 10 });
    expect(r.ok).toBe(false);
    expect(r.ok ? null : r.error).toMatchObject({ code: 'MODEL_TOO_LARGE', message: expect.stringMatching(/more than 100 M parameters \(reached at layer "dense\d+"\)\. Lower the width/) });
    // It was the worker that refused it; the next request gets an answer from the same pool.
    expect(h.host.tasks.spawned).toBe(1);
    const ok = await call('models.summary', lenet);
    expect(ok).toMatchObject({ ok: true, result: { name: 'lenet' } });
  });

  it('stops a request past its time limit with a clear error, and the host keeps serving meanwhile', async () => {
    const limitMs = 3000;
    h = hostHarness('pb-tasks-', { taskLimitsMs: { 'recipes.estimate': limitMs } });
    // A valid recipe whose estimate times training steps of a ~20 M-parameter MLP at batch 4096: far more than 3 s of work.
    const recipe = {
      name: 'slow',
      dataset: { kind: 'fashion-mnist' },
      stages: [{ kind: 'train-teacher', model: { template: 'mlp', width: 1, options: { hidden: [4096, 4096] } }, batchSize: 4096, epochs: 1 }],
    };
    // Event-loop responsiveness during the call: a 10 ms timer's ticks and gaps, and Node's own delay histogram.
    const hist = monitorEventLoopDelay({ resolution: 10 });
    hist.enable();
    let ticks = 0;
    let last = performance.now();
    let longestGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      ticks++;
    }, 10);
    // Other requests are answered while the estimate runs (app.status is served by the host itself).
    let statusAnswers = 0;
    const poll = setInterval(() => void call('app.status', undefined).then((r) => r.ok && statusAnswers++), 100);
    const t0 = performance.now();
    const r = await call('recipes.estimate', { recipe });
    const elapsed = performance.now() - t0;
    clearInterval(timer);
    clearInterval(poll);
    hist.disable();
    console.log(`estimate stopped after ${elapsed.toFixed(0)} ms (limit ${limitMs}); ${ticks} timer ticks, longest gap ${longestGap.toFixed(1)} ms, event-loop delay p99 ${(hist.percentile(99) / 1e6).toFixed(1)} ms, max ${(hist.max / 1e6).toFixed(1)} ms; ${statusAnswers} status answers`);

    expect(r.ok).toBe(false);
    expect(r.ok ? null : r.error).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/^The estimate \(it times training steps of each model\) took longer than 3 s and was stopped, so the app stays responsive\. Lower the batch size/) });
    // The call lasted at least its limit, and the host's loop turned throughout it: no stall took
    // half the call (work done here would stall it for all of it; the machine's load alone gave
    // gaps of up to ~0.2 s), and timers kept firing (at least a tenth of the 10 ms ticks).
    expect(elapsed).toBeGreaterThanOrEqual(limitMs - 50);
    expect(longestGap).toBeLessThan(elapsed / 2);
    expect(ticks).toBeGreaterThan(elapsed / 10 / 10);
    expect(statusAnswers).toBeGreaterThan(0);
    // The stopped worker is replaced on the next request.
    const ok = await call('models.summary', lenet);
    expect(ok).toMatchObject({ ok: true, result: { name: 'lenet' } });
    expect(h.host.tasks.spawned).toBe(2);
  });

  it('a cancelled task stops its worker at once (a This-computer benchmark is cancelled this way)', async () => {
    h = hostHarness('pb-tasks-');
    const recipe = {
      name: 'slow',
      dataset: { kind: 'fashion-mnist' },
      stages: [{ kind: 'train-teacher', model: { template: 'mlp', width: 1, options: { hidden: [4096, 4096] } }, batchSize: 4096, epochs: 1 }],
    };
    const ac = new AbortController();
    const pending = h.host.tasks.run('recipes.estimate', { recipe }, { signal: ac.signal }).then(
      () => null,
      (e: { code: string; message: string }) => e,
    );
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    expect(await pending).toMatchObject({ code: 'CANCELLED', message: 'The estimate (it times training steps of each model) was cancelled.' });
    const ok = await call('models.summary', lenet);
    expect(ok).toMatchObject({ ok: true, result: { name: 'lenet' } });
    expect(h.host.tasks.spawned).toBe(2);
  });
});
