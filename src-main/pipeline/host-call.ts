/**
 * Worker side of `host-request`: a stage calls a service the host process owns and waits for the
 * answer, receiving progress on the way; aborting the signal sends `host-cancel`.
 */
import { AppError } from '../../src-shared/errors';
import type { FromWorker, HostProgress, HostReply } from './protocol';

let sender: ((m: FromWorker) => void) | null = null;
let nextId = 1;
const pending = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void; onProgress?: (p: unknown) => void }>();

export function setHostSender(send: (m: FromWorker) => void): void {
  sender = send;
}

export function deliverFromHost(msg: HostReply | HostProgress): void {
  const p = pending.get(msg.requestId);
  if (!p) return;
  if (msg.type === 'host-progress') return p.onProgress?.(msg.progress);
  pending.delete(msg.requestId);
  if (msg.ok) p.resolve(msg.result);
  else p.reject(AppError.fromInfo(msg.error));
}

export function callHost<T>(service: string, payload: unknown, opts: { signal?: AbortSignal; onProgress?: (p: unknown) => void } = {}): Promise<T> {
  const send = sender;
  if (!send) return Promise.reject(new AppError('UNSUPPORTED', `The "${service}" service is only available to stages running in the pipeline worker.`));
  const requestId = nextId++;
  return new Promise<T>((resolve, reject) => {
    pending.set(requestId, { resolve: resolve as (v: unknown) => void, reject, onProgress: opts.onProgress });
    opts.signal?.addEventListener('abort', () => send({ type: 'host-cancel', requestId }), { once: true });
    send({ type: 'host-request', requestId, service, payload });
  });
}
