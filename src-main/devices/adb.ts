/**
 * The one place that talks to the ADB server, through @devicefarmer/adbkit. Everything above it
 * gets plain results and AppErrors whose message says what to do.
 *
 * adbkit facts this relies on: `shell` gives no exit status (we append an `echo` marker); `push`
 * takes a path or a stream; it starts its own server when the port refuses (so when autostart is
 * off we give it a binary that cannot run); `getState()` throws on unauthorized devices (we use
 * `listDevices`/`trackDevices`).
 */
import * as adbkitModule from '@devicefarmer/adbkit';
import type { Duplex } from 'node:stream';
import { AppError } from '../../src-shared/errors';
import { adbAutostart, adbBinary, adbServerPort, ensureAdbServer, serverListening } from './adb-status';
import { command } from './shell-quote';

// adbkit is CommonJS: Node's ESM loader exposes it as the default export, bundlers as named exports.
type AdbStatic = typeof adbkitModule.Adb;
const Adb: AdbStatic = (adbkitModule as { Adb?: AdbStatic }).Adb ?? (adbkitModule as unknown as { default: { Adb: AdbStatic } }).default.Adb;
type AdbClient = ReturnType<typeof Adb.createClient>;
/** adb's states; `authorizing` (trying keys) and `connecting` come before `unauthorized` or `device`. */
export type AdbDeviceState = 'device' | 'unauthorized' | 'authorizing' | 'connecting' | 'offline' | 'emulator' | 'unknown' | 'absent';

export interface ShellResult {
  output: string;
  exitCode: number;
}

const EXIT_MARK = '__PB_EXIT__';
const EXIT_RE = new RegExp(`(?:\\r?\\n)?${EXIT_MARK}(\\d+)\\s*$`);

export class DisconnectedError extends AppError {
  constructor(serial: string, during: string) {
    super('DEVICE_DISCONNECTED', `${serial} disconnected during ${during}. Reconnect the phone (check the cable, or \`adb connect\` again for a remote one) and run it again.`);
  }
}

export function mapAdbError(err: unknown, serial: string): AppError {
  if (err instanceof AppError) return err;
  const msg = String((err as Error)?.message ?? err);
  if (/unauthorized/i.test(msg)) {
    return new AppError('DEVICE_UNAUTHORIZED', `${serial} has not authorized this computer. Unlock the phone and accept the "Allow USB debugging?" prompt, then try again.`);
  }
  if (/offline/i.test(msg)) {
    return new AppError('DEVICE_OFFLINE', `${serial} is offline. Unplug and replug it (or \`adb connect\` again for a remote one); if it stays offline, restart the phone.`);
  }
  if (/not found|no devices/i.test(msg)) {
    return new AppError('DEVICE_NOT_FOUND', `${serial} is not connected. Check the cable or the address, and that USB debugging is on.`);
  }
  // adbkit says "Premature end of stream" when the link drops mid-reply (a phone unplugged mid-push).
  if (/ECONNREFUSED|ECONNRESET|closed|EPIPE|Premature end of stream/i.test(msg)) return new DisconnectedError(serial, 'the operation');
  return new AppError('ADB_ERROR', `ADB failed for ${serial}: ${msg}`);
}

export class Adbc {
  readonly client: AdbClient;
  readonly port: number;
  readonly host: string;

  /**
   * `host` other than loopback is a remote ADB server (a lab machine, usually through an SSH
   * tunnel): PocketBench never starts one there, it only says when it does not answer.
   */
  constructor(port = adbServerPort(), host = '127.0.0.1', readonly remote = false) {
    this.port = port;
    this.host = host;
    // With autostart off (or a remote server), adbkit must not start a server behind our back either.
    const bin = adbAutostart() && !remote ? adbBinary() : '/nonexistent/pocketbench-adb-autostart-disabled';
    this.client = Adb.createClient({ host, port, bin });
  }

  async ensureServer(): Promise<void> {
    if (!this.remote) return ensureAdbServer(this.port);
    if (!(await serverListening(this.port, this.host))) {
      throw new AppError('ADB_SOURCE_UNREACHABLE', `No ADB server answers at ${this.host}:${this.port}. Check that it runs on the lab machine (\`adb -a -P ${this.port} server nodaemon\`) and that the SSH tunnel to it is up.`);
    }
  }

  async list(): Promise<{ serial: string; state: AdbDeviceState }[]> {
    await this.ensureServer();
    const devices = await this.client.listDevices();
    return devices.map((d: { id: string; type: AdbDeviceState }) => ({ serial: d.id, state: d.type }));
  }

  async connect(host: string, port: number): Promise<string> {
    await this.ensureServer();
    try {
      return await this.client.connect(host, port);
    } catch (err) {
      // The phone answered but wants the user's approval: it is listed as unauthorized, with the hint.
      if (/authenticate/i.test((err as Error).message)) return `${host}:${port}`;
      throw new AppError('CONNECT_FAILED', `Could not connect to ${host}:${port}: ${(err as Error).message}. Check the address, and that the phone (or device farm) listens for ADB over TCP there.`);
    }
  }

  async disconnect(host: string, port: number): Promise<void> {
    try {
      await this.client.disconnect(host, port);
    } catch {
      /* already gone */
    }
  }

  /** Open a shell stream (for long commands whose output we read as it comes). */
  async openShell(serial: string, cmd: string): Promise<Duplex> {
    try {
      return await this.client.getDevice(serial).shell(`${cmd}; echo ${EXIT_MARK}$?`);
    } catch (err) {
      throw mapAdbError(err, serial);
    }
  }

  /** Run a command (already built from quoted arguments) and read its output and exit status. */
  async shell(serial: string, cmd: string, opts: { timeoutMs?: number; signal?: AbortSignal; onData?: (chunk: string) => void } = {}): Promise<ShellResult> {
    const stream = await this.openShell(serial, cmd);
    return readShell(stream, serial, opts);
  }

  /** Run and return stdout, throwing with the device's words when the exit status is not 0. */
  async run(serial: string, cmd: string, what: string, timeoutMs = 30_000): Promise<string> {
    const r = await this.shell(serial, cmd, { timeoutMs });
    if (r.exitCode !== 0) {
      throw new AppError('DEVICE_COMMAND_FAILED', `${what} failed on ${serial} (exit ${r.exitCode}): ${r.output.trim().split('\n').slice(-3).join(' ') || 'no output'}`);
    }
    return r.output;
  }

  /** Push a local file; reports bytes sent. */
  async push(serial: string, localPath: string, remotePath: string, mode: number, onProgress?: (bytes: number) => void, signal?: AbortSignal): Promise<void> {
    let transfer: Awaited<ReturnType<ReturnType<AdbClient['getDevice']>['push']>>;
    try {
      transfer = await this.client.getDevice(serial).push(localPath, remotePath, mode);
    } catch (err) {
      throw mapAdbError(err, serial);
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        transfer.cancel();
        reject(new AppError('CANCELLED', 'Cancelled during the upload to the phone.'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      transfer.on('progress', (s: { bytesTransferred: number }) => onProgress?.(s.bytesTransferred));
      transfer.on('end', () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      transfer.on('error', (err: Error) => {
        signal?.removeEventListener('abort', onAbort);
        const msg = err.message || String(err);
        if (/No space left|ENOSPC|out of space/i.test(msg)) {
          reject(new AppError('DISK_FULL', `The phone ${serial} ran out of storage while receiving ${remotePath}. Free some space on it and run again.`));
        } else reject(/closed|ECONNRESET|EPIPE|offline|not found|Premature end of stream/i.test(msg) ? new DisconnectedError(serial, `the upload of ${remotePath}`) : mapAdbError(err, serial));
      });
    });
  }

  /** Kill a process on the phone (the shell user can kill its own processes). */
  async kill(serial: string, pid: number): Promise<void> {
    try {
      await this.shell(serial, command('kill', '-9', pid), { timeoutMs: 5000 });
    } catch {
      /* the phone may be gone; nothing else to do */
    }
  }
}

/** Read a shell stream to the end; the exit status comes from the marker `openShell` appended. */
export function readShell(stream: Duplex, serial: string, opts: { timeoutMs?: number; signal?: AbortSignal; onData?: (chunk: string) => void } = {}): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    let out = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          stream.destroy();
          finish(() => reject(new AppError('DEVICE_TIMEOUT', `${serial} did not answer within ${Math.round(opts.timeoutMs! / 1000)} s.`)));
        }, opts.timeoutMs)
      : undefined;
    const onAbort = () => {
      stream.destroy();
      finish(() => reject(new AppError('CANCELLED', 'Cancelled.')));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      out += chunk;
      opts.onData?.(chunk);
    });
    const end = () => {
      const m = EXIT_RE.exec(out);
      if (!m) finish(() => reject(new DisconnectedError(serial, 'a command')));
      else finish(() => resolve({ output: out.slice(0, m.index), exitCode: Number(m[1]) }));
    };
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', () => finish(() => reject(new DisconnectedError(serial, 'a command'))));
  });
}
