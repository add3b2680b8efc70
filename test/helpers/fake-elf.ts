/** A minimal ELF header (little-endian, 64-bit) with the given e_machine, padded to `bytes`. */
export function fakeElf(machine: number, bytes = 4096): Buffer {
  const b = Buffer.alloc(bytes, 0x5a);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2;
  b[5] = 1;
  b[6] = 1;
  b.writeUInt16LE(2, 16);
  b.writeUInt16LE(machine, 18);
  return b;
}

export const EM_AARCH64 = 0xb7;
export const EM_ARM = 0x28;
export const EM_X86_64 = 0x3e;
