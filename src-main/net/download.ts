/**
 * One resumable, verified download: the shared path for the built-in dataset and the phone runner.
 *
 * - Bytes go to `<dest>.part`. A `.part` left by an earlier attempt (a cut connection, a closed app)
 *   is continued with an HTTP Range request; a server that ignores the Range (200 instead of 206)
 *   restarts the file from zero, so nothing is ever appended to the wrong offset.
 * - A connection cut mid-body is retried from where it stopped (a few times, short back-off).
 * - When complete, `verify` decides: a file that fails it is deleted and downloaded once more from
 *   zero (a corrupted `.part` or mirror hiccup), then refused for good with a clear error.
 * - Only a verified file is renamed to `dest`: `dest` never holds unverified bytes.
 *
 * Built on Node's own `fetch` (undici), which handles proxies-free HTTP/1.1 and HTTPS, redirects and
 * aborts; the only thing added here is the Range/verify logic, which no small library gives with
 * a per-file verifier.
 */
import fs from 'node:fs';
import { AppError } from '../../src-shared/errors';

export interface DownloadProgress {
  /** Bytes of this file on disk so far (including a resumed part). */
  bytes: number;
  /** Full size when the server says it, else null. */
  total: number | null;
  /** True when this attempt continued an earlier partial file. */
  resumed: boolean;
}

export interface DownloadOptions {
  url: string;
  dest: string;
  /** What is downloaded, for messages ("Fashion-MNIST train-images-idx3-ubyte.gz"). */
  label: string;
  /** Resolve to null when the file is right, or to a reason it is not. */
  verify: (file: string) => Promise<string | null>;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** Connection attempts per pass before giving up (default 4). */
  attempts?: number;
  /** What the user can do without a network (appended to offline/failed messages). */
  manualRoute?: string;
  /** Milliseconds before a retry after a cut connection (default 300; tests use 0). */
  retryDelayMs?: number;
}

export interface DownloadResult {
  file: string;
  bytes: number;
  /** How many times a cut connection was continued with a Range request. */
  resumes: number;
  /** How many complete files failed verification and were downloaded again. */
  redownloads: number;
}

/** Network error codes that mean "this computer cannot reach the server at all". */
const OFFLINE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'ECONNRESET', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function causeCode(err: unknown): string | undefined {
  let e = err as { code?: unknown; cause?: unknown } | undefined;
  for (let i = 0; e && i < 4; i++) {
    if (typeof e.code === 'string') return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

function causeMessage(err: unknown): string {
  const cause = (err as { cause?: { message?: string } })?.cause?.message;
  return cause ? `${(err as Error).message}: ${cause}` : String((err as Error)?.message ?? err);
}

function partSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}

type Attempt = { done: true; total: number | null } | { done: false; error: unknown; connected: boolean };

/** One HTTP request: continue `part` from its current size, or start it over. */
async function attempt(o: DownloadOptions, part: string): Promise<Attempt> {
  const have = partSize(part);
  let res: Response;
  try {
    res = await fetch(o.url, { signal: o.signal, headers: have > 0 ? { range: `bytes=${have}-` } : {} });
  } catch (error) {
    return { done: false, error, connected: false };
  }
  if (res.status === 416 && have > 0) {
    // "Range not satisfiable": the part is already the whole file (or longer); verification decides.
    await res.body?.cancel().catch(() => undefined);
    return { done: true, total: have };
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new AppError('DOWNLOAD_FAILED', `Downloading ${o.label} failed: ${o.url} answered HTTP ${res.status}.${o.manualRoute ? ` ${o.manualRoute}` : ''}`, { url: o.url, status: res.status });
  }
  let offset = 0;
  let total = Number(res.headers.get('content-length')) || null;
  if (res.status === 206) {
    const m = /bytes (\d+)-\d+\/(\d+|\*)/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== have) {
      // A range we did not ask for: never splice it in; start over.
      await res.body.cancel().catch(() => undefined);
      fs.rmSync(part, { force: true });
      return { done: false, error: new Error(`the server answered a different range (${res.headers.get('content-range')})`), connected: true };
    }
    offset = have;
    total = m[2] === '*' ? null : Number(m[2]);
  } // else a 200: the whole file, written from zero (a server without Range support)
  const resumed = offset > 0;
  const fd = fs.openSync(part, resumed ? 'a' : 'w');
  let bytes = offset;
  try {
    o.onProgress?.({ bytes, total, resumed });
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      fs.writeSync(fd, chunk);
      bytes += chunk.length;
      o.onProgress?.({ bytes, total, resumed });
    }
  } catch (error) {
    return { done: false, error, connected: true };
  } finally {
    fs.closeSync(fd);
  }
  if (total !== null && bytes < total) return { done: false, error: new Error(`the connection closed after ${bytes} of ${total} bytes`), connected: true };
  return { done: true, total: bytes };
}

/**
 * Download `url` to `dest` (resuming `dest.part`), verify it, and return where it is.
 * Throws OFFLINE when the server cannot be reached at all, DOWNLOAD_FAILED when the transfer keeps
 * failing (the part is kept, so the next try continues it), HASH_MISMATCH when two complete
 * downloads both fail verification, CANCELLED when the signal aborts.
 */
export async function downloadVerified(o: DownloadOptions): Promise<DownloadResult> {
  const part = `${o.dest}.part`;
  const attempts = o.attempts ?? 4;
  const retryDelay = o.retryDelayMs ?? 300;
  let resumes = 0;
  let redownloads = 0;
  for (let pass = 0; pass < 2; pass++) {
    let lastError: unknown = null;
    let everConnected = false;
    let complete = false;
    for (let i = 0; i < attempts && !complete; i++) {
      if (o.signal?.aborted) throw new AppError('CANCELLED', `The download of ${o.label} was cancelled; what arrived is kept and the next try continues it.`);
      if (i > 0) {
        if (partSize(part) > 0) resumes++;
        await sleep(retryDelay * i, o.signal);
      }
      const r = await attempt(o, part);
      if (r.done) complete = true;
      else {
        lastError = r.error;
        everConnected ||= r.connected;
        if (o.signal?.aborted) throw new AppError('CANCELLED', `The download of ${o.label} was cancelled; what arrived is kept and the next try continues it.`);
      }
    }
    if (!complete) {
      const host = safeHost(o.url);
      const manual = o.manualRoute ? ` ${o.manualRoute}` : '';
      if (!everConnected && OFFLINE_CODES.has(causeCode(lastError) ?? '')) {
        throw new AppError(
          'OFFLINE',
          `Cannot download ${o.label}: this computer cannot reach ${host} (${causeCode(lastError)}). Check the internet connection and try again.${manual}`,
          { url: o.url, code: causeCode(lastError) },
        );
      }
      const have = partSize(part);
      throw new AppError(
        'DOWNLOAD_FAILED',
        `The download of ${o.label} from ${host} kept failing (${causeMessage(lastError)}).${have ? ` ${have} bytes arrived and are kept; the next try continues from there.` : ''}${manual}`,
        { url: o.url, bytes: have },
      );
    }
    const problem = await o.verify(part);
    if (problem === null) {
      fs.renameSync(part, o.dest);
      return { file: o.dest, bytes: partSize(o.dest), resumes, redownloads };
    }
    // Corrupted (or a different file): throw the bytes away and fetch it once more from zero.
    fs.rmSync(part, { force: true });
    if (pass === 0) {
      redownloads++;
      continue;
    }
    throw new AppError(
      'HASH_MISMATCH',
      `${o.label} from ${safeHost(o.url)} is not the expected file (${problem}), twice in a row; it was deleted. The server may be serving a different or damaged file.${o.manualRoute ? ` ${o.manualRoute}` : ''}`,
      { url: o.url, problem },
    );
  }
  /* c8 ignore next */
  throw new AppError('INTERNAL', 'unreachable');
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
