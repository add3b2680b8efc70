/**
 * `shell:CMD` (v1: stdout and stderr merged into the stream, no exit code — clients append
 * `; echo marker $?`), `shell,v2,…:CMD` (shell protocol v2: stdout/stderr/exit packets, stdin
 * packets) and `exec:CMD` (raw stdout only).
 *
 * The command is rewritten by the path mapper (sandbox.ts) and run by the host's /bin/sh in the
 * sandbox root, in its own process group, with the device tools first on PATH. The stream ends when
 * that shell exits: a background job (`runner & echo $!`) keeps running but is not waited for.
 * Closing the stream from the host (a cancel) kills the process group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Sandbox } from './sandbox';
import { OutputUnmapper } from './sandbox';
import type { DeviceStream } from './transport';
import { ShellId, ShellPacketReader, shellPacket } from './wire';

/** How long the pipes of an exited shell must stay quiet before a background job's hold is ignored. */
const QUIET_MS = 250;

export type ShellMode = 'v1' | 'v2' | 'exec';

export interface ShellContext {
  sandbox: Sandbox;
  env: Record<string, string>;
  /** Called with every command as the host sent it (before path mapping). */
  onCommand?: (command: string) => void;
  /** Tracks children so the device can kill them when the cable is pulled. */
  children: Set<ChildProcess>;
}

/** Parses `shell,v2,raw:cmd` / `shell:cmd` / `exec:cmd`. Returns null for other services. */
export function parseShellService(service: string): { mode: ShellMode; command: string } | null {
  if (service.startsWith('exec:')) return { mode: 'exec', command: service.slice(5) };
  const m = /^shell(,[^:]*)?:([\s\S]*)$/.exec(service);
  if (!m) return null;
  const opts = (m[1] ?? '').split(',').filter(Boolean);
  return { mode: opts.includes('v2') ? 'v2' : 'v1', command: m[2] };
}

export function runShell(ctx: ShellContext, stream: DeviceStream, mode: ShellMode, command: string): void {
  ctx.onCommand?.(command);
  const { sandbox } = ctx;
  // v1 has one output stream: a phone's shell writes stdout and stderr to the same pty, so they
  // arrive in the order written. Two pipes would not keep that order (an error line could land
  // after a later `echo`), so in v1 stderr goes to stdout's pipe.
  const prelude = `. "${join(sandbox.state, 'prelude.sh')}"\n${mode === 'v1' ? 'exec 2>&1\n' : ''}`;
  const mapped = sandbox.mapCommand(command);
  const interactive = command.trim() === '';
  const args = interactive ? [] : ['-c', `${prelude}${mapped}`];
  const child = spawn('/bin/sh', args, {
    cwd: sandbox.root,
    env: ctx.env,
    detached: true,
    stdio: ['pipe', 'pipe', mode === 'v1' ? 'pipe' : 'pipe'],
  });
  ctx.children.add(child);
  if (interactive) child.stdin.write(prelude);

  const outMap = new OutputUnmapper(sandbox.root);
  const errMap = new OutputUnmapper(sandbox.root);
  const send = (id: number, data: Buffer) => {
    if (data.length === 0) return Promise.resolve();
    if (mode === 'v2') return stream.write(shellPacket(id, data));
    if (mode === 'exec' && id === ShellId.stderr) return Promise.resolve();
    return stream.write(data);
  };
  let pendingAcks = 0;
  let lastActivity = Date.now();
  const pipe = (src: NodeJS.ReadableStream, id: number, map: OutputUnmapper) => {
    src.on('data', (chunk: Buffer) => {
      lastActivity = Date.now();
      pendingAcks++;
      const p = send(id, map.push(chunk));
      // Back-pressure: stop reading until the host acknowledged this chunk.
      src.pause();
      void p.then(() => {
        pendingAcks--;
        lastActivity = Date.now();
        src.resume();
      });
    });
  };
  pipe(child.stdout, ShellId.stdout, outMap);
  pipe(child.stderr, ShellId.stderr, errMap);
  child.stdin.on('error', () => undefined);

  // Host → device: raw stdin (v1/exec) or stdin/close-stdin packets (v2).
  const packets = new ShellPacketReader();
  stream.onData((data) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (mode !== 'v2') {
      child.stdin.write(data);
      return;
    }
    for (const p of packets.push(data)) {
      if (p.id === ShellId.stdin) child.stdin.write(p.data);
      else if (p.id === ShellId.closeStdin) child.stdin.end();
    }
  });

  let finished = false;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      /* already gone */
    }
  };
  const groupAlive = () => {
    try {
      if (child.pid) process.kill(-child.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  stream.once('closed', () => {
    if (!finished) killGroup('SIGKILL');
  });

  let outEnded = false;
  let errEnded = false;
  child.stdout.once('end', () => (outEnded = true));
  child.stderr.once('end', () => (errEnded = true));
  child.once('exit', (code, signal) => {
    ctx.children.delete(child);
    // Drain what the shell left in the pipes (its 'exit' can come before its output has been read),
    // but do not wait for a background job that holds them open: once the shell has exited, stop
    // when the pipes have been quiet for QUIET_MS (or after 1 s of chatter).
    const started = Date.now();
    lastActivity = Math.max(lastActivity, started);
    const finish = async () => {
      // Only a background job still alive in the shell's process group can hold the pipes open;
      // without one, the pipes always end, so wait for that (however slow the machine is).
      const held = groupAlive();
      const quiet = held && pendingAcks === 0 && Date.now() - lastActivity > QUIET_MS;
      if (!(outEnded && errEnded) && !quiet && (!held || Date.now() - started < 1000)) {
        setTimeout(() => void finish(), 10);
        return;
      }
      finished = true;
      child.stdout.removeAllListeners('data');
      child.stderr.removeAllListeners('data');
      child.stdout.destroy();
      child.stderr.destroy();
      child.stdin.destroy();
      await send(ShellId.stdout, outMap.end());
      await send(ShellId.stderr, errMap.end());
      if (mode === 'v2') {
        const status = code ?? (signal ? 128 + (signalNumber(signal) ?? 1) : 1);
        await stream.write(shellPacket(ShellId.exit, Buffer.from([status & 0xff])));
      }
      stream.close();
    };
    void finish();
  });
  child.once('error', () => {
    ctx.children.delete(child);
    stream.close();
  });
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  const table: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGPIPE: 13, SIGTERM: 15, SIGSEGV: 11, SIGABRT: 6 };
  return table[signal];
}
