/**
 * One TCP connection from the ADB server to the simulated device: the handshake (CNXN, or AUTH when
 * the device is "unauthorized"), and streams (OPEN/OKAY/WRTE/CLSE) with ADB's flow control — one
 * WRTE in flight per stream until the host answers OKAY, payloads split to the host's maxdata.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import {
  A_AUTH, A_CLSE, A_CNXN, A_OKAY, A_OPEN, A_VERSION, A_WRTE, AUTH_RSAPUBLICKEY, AUTH_SIGNATURE, AUTH_TOKEN,
  DEVICE_MAX_DATA, MessageReader, encodeMessage, type AdbMessage,
} from './wire';

export type HandshakeState = 'online' | 'unauthorized' | 'offline';

export interface ConnectionHooks {
  /** The CNXN banner: `device::ro.product.name=…;…;features=…`. */
  banner(): string;
  /** What the device does when the host says CNXN (read again whenever `retryHandshake` is called). */
  handshakeState(): HandshakeState;
  /** Starts a service on a new stream; returns false for an unknown service (the host gets CLSE). */
  openService(service: string, stream: DeviceStream): boolean;
}

export class AdbConnection {
  hostMaxData = 4096;
  online = false;
  private readonly reader = new MessageReader();
  private readonly streams = new Map<number, DeviceStream>();
  private nextLocalId = 1;
  private pendingHandshake = false;
  private hostVersion = A_VERSION;
  private closed = false;

  constructor(
    readonly socket: Socket,
    private readonly hooks: ConnectionHooks,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      let messages: AdbMessage[];
      try {
        messages = this.reader.push(chunk);
      } catch {
        this.drop();
        return;
      }
      for (const m of messages) this.handle(m);
    });
    socket.on('close', () => this.onClosed());
    socket.on('error', () => this.onClosed());
  }

  /** Re-reads the handshake state and answers a CNXN the device has been sitting on. */
  retryHandshake(): void {
    if (this.closed || this.online || !this.pendingHandshake) return;
    const state = this.hooks.handshakeState();
    if (state === 'online') this.sendCnxn();
  }

  /** Cuts the cable: the host sees the connection reset. */
  drop(): void {
    this.socket.destroy();
    this.onClosed();
  }

  get openStreams(): number {
    return this.streams.size;
  }

  send(command: number, arg0: number, arg1: number, data?: Buffer): void {
    if (this.closed) return;
    this.socket.write(encodeMessage(command, arg0, arg1, data));
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.online = false;
    for (const s of this.streams.values()) s.hostClosed();
    this.streams.clear();
  }

  private sendCnxn(): void {
    this.pendingHandshake = false;
    this.online = true;
    const version = Math.min(this.hostVersion, A_VERSION);
    this.send(A_CNXN, version, DEVICE_MAX_DATA, Buffer.from(this.hooks.banner(), 'utf8'));
  }

  private sendAuthToken(): void {
    this.send(A_AUTH, AUTH_TOKEN, 0, randomBytes(20));
  }

  private handle(m: AdbMessage): void {
    switch (m.command) {
      case A_CNXN: {
        this.hostVersion = m.arg0;
        this.hostMaxData = Math.max(256, m.arg1);
        // A new CNXN resets the link: forget the old streams.
        for (const s of this.streams.values()) s.hostClosed();
        this.streams.clear();
        this.online = false;
        this.pendingHandshake = true;
        const state = this.hooks.handshakeState();
        if (state === 'online') this.sendCnxn();
        else if (state === 'unauthorized') this.sendAuthToken();
        // offline: say nothing; the host lists the device as offline.
        return;
      }
      case A_AUTH: {
        if (this.online) return;
        const state = this.hooks.handshakeState();
        if (state === 'online') {
          this.sendCnxn();
        } else if (state === 'unauthorized' && m.arg0 === AUTH_SIGNATURE) {
          // Reject every signature: the host then offers its public key…
          this.sendAuthToken();
        }
        // …which a real phone would show in the "Allow USB debugging?" prompt. Nobody answers here
        // until the fault is cleared (then retryHandshake sends CNXN).
        void AUTH_RSAPUBLICKEY;
        return;
      }
      case A_OPEN: {
        if (!this.online) return;
        const remoteId = m.arg0;
        const service = m.data.toString('utf8').replace(/\0+$/, '');
        const localId = this.nextLocalId++;
        const stream = new DeviceStream(this, localId, remoteId);
        this.streams.set(localId, stream);
        stream.once('closed', () => this.streams.delete(localId));
        let ok = false;
        try {
          // OKAY must precede the service's first WRTE; services write asynchronously.
          this.send(A_OKAY, localId, remoteId);
          ok = this.hooks.openService(service, stream);
        } catch {
          ok = false;
        }
        if (!ok) stream.close();
        return;
      }
      case A_OKAY: {
        this.streams.get(m.arg1)?.acked(m.arg0);
        return;
      }
      case A_WRTE: {
        const s = this.streams.get(m.arg1);
        if (!s) {
          this.send(A_CLSE, 0, m.arg0);
          return;
        }
        s.received(m.data);
        return;
      }
      case A_CLSE: {
        const s = this.streams.get(m.arg1);
        if (s) {
          this.streams.delete(m.arg1);
          s.hostClosed();
        }
        return;
      }
      default:
        return;
    }
  }
}

/**
 * A stream between a service and the host. `write` queues bytes (sent one WRTE at a time, each
 * waiting for the host's OKAY); `close` sends CLSE once the queue is flushed. Events: `data` (bytes
 * from the host, already acknowledged in order), `closed` (either side closed, or the link dropped).
 */
export class DeviceStream extends EventEmitter {
  private readonly queue: { data: Buffer; done: () => void }[] = [];
  private inFlight = false;
  private closing = false;
  private finished = false;
  private incoming: Promise<void> = Promise.resolve();
  private dataHandler: ((data: Buffer) => void | Promise<void>) | null = null;

  constructor(
    private readonly conn: AdbConnection,
    readonly localId: number,
    private remoteId: number,
  ) {
    super();
  }

  get isClosed(): boolean {
    return this.finished;
  }

  /** Bytes from the host are handed over in order; the host gets OKAY once the handler is done. */
  onData(handler: (data: Buffer) => void | Promise<void>): void {
    this.dataHandler = handler;
  }

  /** Queues bytes for the host; resolves when the host has acknowledged them (or the stream died). */
  write(data: Buffer): Promise<void> {
    if (this.finished || this.closing || data.length === 0) return Promise.resolve();
    const max = this.conn.hostMaxData;
    const parts: Promise<void>[] = [];
    for (let off = 0; off < data.length; off += max) {
      const slice = data.subarray(off, Math.min(off + max, data.length));
      parts.push(new Promise<void>((done) => this.queue.push({ data: Buffer.from(slice), done })));
    }
    this.pump();
    return Promise.all(parts).then(() => undefined);
  }

  /** Closes after flushing what was written. */
  close(): void {
    if (this.finished || this.closing) return;
    this.closing = true;
    this.pump();
  }

  /** Called by the connection. */
  received(data: Buffer): void {
    this.incoming = this.incoming
      .then(async () => {
        if (this.finished) return;
        if (this.dataHandler) await this.dataHandler(data);
        else this.emit('data', data);
      })
      .catch(() => undefined)
      .then(() => {
        if (!this.finished) this.conn.send(A_OKAY, this.localId, this.remoteId);
      });
  }

  /** Called by the connection when the host acknowledged our WRTE. */
  acked(remoteId: number): void {
    this.remoteId = remoteId || this.remoteId;
    const head = this.queue.shift();
    this.inFlight = false;
    head?.done();
    this.pump();
  }

  /** Called by the connection: the host closed the stream or the link dropped. */
  hostClosed(): void {
    if (this.finished) return;
    this.finished = true;
    for (const q of this.queue.splice(0)) q.done();
    this.emit('closed');
  }

  private pump(): void {
    if (this.finished || this.inFlight) return;
    const head = this.queue[0];
    if (head) {
      this.inFlight = true;
      this.conn.send(A_WRTE, this.localId, this.remoteId, head.data);
      return;
    }
    if (this.closing) {
      this.finished = true;
      this.conn.send(A_CLSE, this.localId, this.remoteId);
      this.emit('closed');
    }
  }
}
