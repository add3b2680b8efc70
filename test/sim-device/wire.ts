/**
 * The ADB transport wire format, device side (facts from AOSP `packages/modules/adb/protocol.txt`,
 * `SERVICES.TXT`, `SYNC.TXT`).
 *
 * A message is a 24-byte little-endian header — command, arg0, arg1, data length, data checksum
 * (sum of the payload bytes), magic (command ^ 0xffffffff) — followed by the payload.
 */

export const A_SYNC = 0x434e5953;
export const A_CNXN = 0x4e584e43;
export const A_AUTH = 0x48545541;
export const A_OPEN = 0x4e45504f;
export const A_OKAY = 0x59414b4f;
export const A_CLSE = 0x45534c43;
export const A_WRTE = 0x45545257;
export const A_STLS = 0x534c5453;

/** Protocol version that lets both sides skip checksum verification (we still send checksums). */
export const A_VERSION = 0x01000001;
export const A_VERSION_MIN = 0x01000000;
/** The largest payload we accept in one message (what we announce in CNXN). */
export const DEVICE_MAX_DATA = 256 * 1024;

export const AUTH_TOKEN = 1;
export const AUTH_SIGNATURE = 2;
export const AUTH_RSAPUBLICKEY = 3;

export interface AdbMessage {
  command: number;
  arg0: number;
  arg1: number;
  data: Buffer;
}

export const HEADER_SIZE = 24;

export function commandName(command: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(command >>> 0);
  return b.toString('latin1');
}

export function encodeMessage(command: number, arg0: number, arg1: number, data: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum = (sum + data[i]) >>> 0;
  header.writeUInt32LE(command >>> 0, 0);
  header.writeUInt32LE(arg0 >>> 0, 4);
  header.writeUInt32LE(arg1 >>> 0, 8);
  header.writeUInt32LE(data.length, 12);
  header.writeUInt32LE(sum, 16);
  header.writeUInt32LE((command ^ 0xffffffff) >>> 0, 20);
  return data.length ? Buffer.concat([header, data]) : header;
}

/** Incremental decoder for the byte stream from the host. */
export class MessageReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Feeds bytes; returns every complete message. Throws on a corrupt header (bad magic). */
  push(chunk: Buffer): AdbMessage[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: AdbMessage[] = [];
    while (this.buf.length >= HEADER_SIZE) {
      const command = this.buf.readUInt32LE(0);
      const magic = this.buf.readUInt32LE(20);
      if (((command ^ 0xffffffff) >>> 0) !== magic) {
        throw new Error(`corrupt ADB header (command ${command.toString(16)}, magic ${magic.toString(16)})`);
      }
      const len = this.buf.readUInt32LE(12);
      if (this.buf.length < HEADER_SIZE + len) break;
      out.push({
        command,
        arg0: this.buf.readUInt32LE(4),
        arg1: this.buf.readUInt32LE(8),
        data: Buffer.from(this.buf.subarray(HEADER_SIZE, HEADER_SIZE + len)),
      });
      this.buf = this.buf.subarray(HEADER_SIZE + len);
    }
    return out;
  }
}

/** Shell protocol v2 packet ids (`shell_protocol.h`): 1-byte id, 4-byte LE length, data. */
export const ShellId = { stdin: 0, stdout: 1, stderr: 2, exit: 3, closeStdin: 4, windowSizeChange: 5 } as const;

export function shellPacket(id: number, data: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.writeUInt8(id, 0);
  h.writeUInt32LE(data.length, 1);
  return Buffer.concat([h, data]);
}

/** Splits a byte stream into shell v2 packets. */
export class ShellPacketReader {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): { id: number; data: Buffer }[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: { id: number; data: Buffer }[] = [];
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt32LE(1);
      if (this.buf.length < 5 + len) break;
      out.push({ id: this.buf[0], data: Buffer.from(this.buf.subarray(5, 5 + len)) });
      this.buf = this.buf.subarray(5 + len);
    }
    return out;
  }
}
