/**
 * A small seeded PRNG for splits and sampling. Data code must not depend on the compute backend's
 * RNG state, and `Math.random` cannot be seeded.
 */

/** mulberry32: 32-bit state, good enough for shuffling and sampling, identical on every platform. */
export function createRng(seed: number): () => number {
  // Mix the seed so 0, 1, 2 ... give unrelated streams.
  let a = (Math.imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0) || 0x6d2b79f5;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates in place. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(arr: T, rand: () => number): T {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const tmp = arr[i];
    arr[i] = arr[j];
    arr[j] = tmp;
  }
  return arr;
}

/** A sub-stream per purpose, so adding a new random choice never changes the existing ones. */
export function deriveSeed(seed: number, purpose: string): number {
  let h = 2166136261 ^ (seed | 0);
  for (let i = 0; i < purpose.length; i++) h = Math.imul(h ^ purpose.charCodeAt(i), 16777619);
  return h | 0;
}
