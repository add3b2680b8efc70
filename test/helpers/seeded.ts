/**
 * Seeded randomness for tests: the same weights and inputs on every run.
 */

/**
 * Runs `fn` with Math.random replaced by a seeded generator: TF.js initializers without a seed draw
 * from Math.random, so a model built inside gets the same weights on every build.
 */
export function seeded<T>(seed: number, fn: () => T): T {
  const original = Math.random;
  let s = seed;
  Math.random = () => (s = (s * 16807) % 2147483647) / 2147483647;
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}

/** `n` deterministic pseudo-random numbers in [lo, hi) (a Park–Miller generator). */
export function seededValues(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed % 2147483647 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (s * 16807) % 2147483647;
    return lo + ((s - 1) / 2147483646) * (hi - lo);
  });
}
