/**
 * `sync:` — file transfer (AOSP SYNC.TXT). Requests are `ID` + 4-byte LE length + path; replies:
 *   STAT → `STAT` mode size mtime (all zero when the file does not exist)
 *   LIST → `DENT` mode size mtime namelen name …, then `DONE` + 16 zero bytes
 *   SEND `path,mode` → `DATA` len bytes … `DONE` mtime → `OKAY` 0, or `FAIL` len message
 *   RECV → `DATA` len bytes … `DONE` 0, or `FAIL` len message
 *   QUIT → closes
 * The v2 variants (STA2, LIS2, SND2, RCV2) are not implemented, so `stat_v2`, `ls_v2` and
 * `sendrecv_v2` are not advertised.
 *
 * A pushed ELF executable is kept aside (state/elf) and replaced at its path by a script that runs
 * the benchmark_model stand-in (an arm64 binary cannot run here); STAT, LIST, RECV and the shell's
 * sha256sum/stat/cat/chmod report the ELF's own bytes.
 */
import { createHash } from 'node:crypto';
import { promises as fsp, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Sandbox } from './sandbox';
import { ELF_STANDIN_MARKER, elfStandInScript } from './tools';
import type { DeviceStream } from './transport';

export interface SyncContext {
  sandbox: Sandbox;
  /** /data is full: writes fail with ENOSPC. */
  diskFull(): boolean;
  /** Called with the bytes received so far in a SEND; returning true cuts the cable. */
  shouldDropDuringPush(bytesSoFar: number): boolean;
  drop(): void;
  onPush?: (devicePath: string, bytes: number) => void;
}

const MAX_DATA_CHUNK = 64 * 1024;

function id(s: string): number {
  return Buffer.from(s, 'latin1').readUInt32LE(0);
}
const ID = {
  STAT: id('STAT'), LIST: id('LIST'), SEND: id('SEND'), RECV: id('RECV'), QUIT: id('QUIT'),
  DATA: id('DATA'), DONE: id('DONE'), DENT: id('DENT'), OKAY: id('OKAY'), FAIL: id('FAIL'),
};

function header(name: string, ...words: number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * words.length);
  b.write(name, 0, 'latin1');
  words.forEach((w, i) => b.writeUInt32LE(w >>> 0, 4 + 4 * i));
  return b;
}

function failMessage(text: string): Buffer {
  const msg = Buffer.from(text, 'utf8');
  return Buffer.concat([header('FAIL', msg.length), msg]);
}

/** If `hostFile` is an ELF stand-in script, the path of the kept ELF bytes; else null. */
export async function keptElfPath(hostFile: string): Promise<string | null> {
  let fh;
  try {
    fh = await fsp.open(hostFile, 'r');
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    const lines = buf.subarray(0, bytesRead).toString('utf8').split('\n');
    if (lines[0] === '#!/bin/sh' && lines[1]?.startsWith(ELF_STANDIN_MARKER)) return lines[1].slice(ELF_STANDIN_MARKER.length);
    return null;
  } catch {
    return null;
  } finally {
    await fh?.close();
  }
}

/** stat() that reports a pushed ELF's own size. */
async function deviceStat(hostFile: string): Promise<Stats> {
  const st = await fsp.stat(hostFile);
  if (st.isFile()) {
    const kept = await keptElfPath(hostFile);
    if (kept) {
      const k = await fsp.stat(kept);
      return Object.assign(Object.create(Object.getPrototypeOf(st)), st, { size: k.size }) as Stats;
    }
  }
  return st;
}

export function runSync(ctx: SyncContext, stream: DeviceStream): void {
  let buf: Buffer = Buffer.alloc(0);
  /** An in-progress SEND. */
  let send: { path: string; mode: number; chunks: Buffer[]; bytes: number; failed: string | null } | null = null;
  let quit = false;

  const need = (n: number) => buf.length >= n;
  const take = (n: number) => {
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return Buffer.from(out);
  };

  stream.onData(async (data) => {
    buf = buf.length ? Buffer.concat([buf, data]) : data;
    while (!quit && need(8)) {
      const reqId = buf.readUInt32LE(0);
      const len = buf.readUInt32LE(4);
      if (send) {
        if (reqId === ID.DATA) {
          if (!need(8 + len)) return;
          take(8);
          const chunk = take(len);
          if (send.failed) continue;
          send.chunks.push(chunk);
          send.bytes += chunk.length;
          if (ctx.shouldDropDuringPush(send.bytes)) {
            quit = true;
            ctx.drop();
            return;
          }
          if (ctx.diskFull()) {
            send.failed = 'write failed: No space left on device';
            await stream.write(failMessage(send.failed));
          }
          continue;
        }
        if (reqId === ID.DONE) {
          take(8);
          const s = send;
          send = null;
          if (s.failed) {
            // adbd stops the sync session after a failed transfer.
            quit = true;
            stream.close();
            return;
          }
          const err = await finishSend(ctx, s.path, s.mode, Buffer.concat(s.chunks), len);
          if (err) {
            await stream.write(failMessage(err));
            quit = true;
            stream.close();
            return;
          }
          await stream.write(header('OKAY', 0));
          continue;
        }
        await stream.write(failMessage(`invalid data message: expected DATA or DONE`));
        quit = true;
        stream.close();
        return;
      }
      if (!need(8 + len)) return;
      take(8);
      const arg = take(len).toString('utf8');
      if (reqId === ID.QUIT) {
        quit = true;
        stream.close();
        return;
      }
      if (reqId === ID.STAT) await stream.write(await doStat(ctx, arg));
      else if (reqId === ID.LIST) await stream.write(await doList(ctx, arg));
      else if (reqId === ID.RECV) await doRecv(ctx, arg, stream);
      else if (reqId === ID.SEND) {
        const comma = arg.lastIndexOf(',');
        const path = comma >= 0 ? arg.slice(0, comma) : arg;
        const mode = comma >= 0 ? Number(arg.slice(comma + 1)) & 0o7777 : 0o644;
        send = { path, mode: mode || 0o644, chunks: [], bytes: 0, failed: null };
      } else {
        await stream.write(failMessage(`unknown sync request ${Buffer.from(header('', reqId)).toString('latin1')}`));
        quit = true;
        stream.close();
        return;
      }
    }
  });
}

async function doStat(ctx: SyncContext, path: string): Promise<Buffer> {
  try {
    const st = await deviceStat(ctx.sandbox.hostPath(path));
    return header('STAT', st.mode, st.size, Math.floor(st.mtimeMs / 1000));
  } catch {
    return header('STAT', 0, 0, 0);
  }
}

async function doList(ctx: SyncContext, path: string): Promise<Buffer> {
  const dir = ctx.sandbox.hostPath(path);
  const parts: Buffer[] = [];
  let names: string[] = [];
  try {
    names = ['.', '..', ...(await fsp.readdir(dir))];
  } catch {
    names = [];
  }
  for (const name of names) {
    try {
      const st = await deviceStat(join(dir, name));
      const n = Buffer.from(name, 'utf8');
      parts.push(header('DENT', st.mode, st.size, Math.floor(st.mtimeMs / 1000), n.length), n);
    } catch {
      /* vanished */
    }
  }
  parts.push(header('DONE', 0, 0, 0, 0));
  return Buffer.concat(parts);
}

async function doRecv(ctx: SyncContext, path: string, stream: DeviceStream): Promise<void> {
  const host = ctx.sandbox.hostPath(path);
  let bytes: Buffer;
  try {
    const st = await fsp.stat(host);
    if (st.isDirectory()) throw Object.assign(new Error('Is a directory'), { code: 'EISDIR' });
    bytes = await fsp.readFile((await keptElfPath(host)) ?? host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'No such file or directory' : code === 'EISDIR' ? 'Is a directory' : (err as Error).message;
    await stream.write(failMessage(`open failed: ${why}`));
    return;
  }
  for (let off = 0; off < bytes.length; off += MAX_DATA_CHUNK) {
    const chunk = bytes.subarray(off, Math.min(off + MAX_DATA_CHUNK, bytes.length));
    await stream.write(Buffer.concat([header('DATA', chunk.length), chunk]));
  }
  await stream.write(header('DONE', 0));
}

/** Writes a pushed file; returns an error message for the host, or null. */
async function finishSend(ctx: SyncContext, path: string, mode: number, bytes: Buffer, mtime: number): Promise<string | null> {
  const host = ctx.sandbox.hostPath(path);
  try {
    await fsp.mkdir(dirname(host), { recursive: true });
    const st = await fsp.stat(host).catch(() => null);
    if (st?.isDirectory()) return `couldn't create file: Is a directory`;
    const isElf = bytes.length >= 20 && bytes.readUInt32BE(0) === 0x7f454c46;
    if (isElf) {
      const kept = join(ctx.sandbox.state, 'elf', `${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.elf`);
      await fsp.writeFile(kept, bytes);
      await fsp.chmod(kept, mode);
      await fsp.rm(host, { force: true });
      await fsp.writeFile(host, elfStandInScript(kept));
    } else {
      await fsp.rm(host, { force: true });
      await fsp.writeFile(host, bytes);
    }
    await fsp.chmod(host, mode);
    if (mtime > 0) await fsp.utimes(host, mtime, mtime);
    ctx.onPush?.(path, bytes.length);
    return null;
  } catch (err) {
    return `couldn't create file: ${(err as Error).message}`;
  }
}
