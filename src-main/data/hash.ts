/**
 * Content hashes for datasets: SHA-256 over named parts, so the same data gets the same hash
 * whatever the folder it sits in, and renaming a class (a different dataset) changes it.
 */
import { createHash, type Hash } from 'node:crypto';

export class ContentHasher {
  private readonly h: Hash = createHash('sha256');

  /** Each part is framed by its name and length, so parts cannot run into each other. */
  add(name: string, bytes: Uint8Array | string): this {
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
    this.h.update(`${name}\0${data.length}\0`);
    this.h.update(data);
    return this;
  }

  hex(): string {
    return this.h.digest('hex');
  }
}
