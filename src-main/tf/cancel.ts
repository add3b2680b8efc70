/**
 * Cancellation points of long computations. A pipeline worker installs its run's check
 * (pipeline/runner.ts); loops over batches, inference chunks, calibration batches and LiteRT samples
 * call `cancelPoint()` before each unit of work, so a cancel stops a stage within one batch wherever
 * it is: training, evaluation, calibration, export checks, search. Outside a run it costs a counter.
 *
 * The check must not need the event loop: these loops are synchronous (a whole evaluation pass never
 * yields), so an IPC "cancel" message would only be read after they end. The host therefore also
 * writes a cancel file (pipeline/service.ts) that the check looks for.
 */
let check: (() => void) | null = null;

/** Cancellation points passed in this process (tests count work around a cancel with it). */
export const cancelPoints = { passed: 0 };

export function setCancelCheck(fn: (() => void) | null): void {
  check = fn;
}

/** Throws CANCELLED when the running stage was cancelled; call it before each batch-sized unit of work. */
export function cancelPoint(): void {
  cancelPoints.passed++;
  check?.();
}
