// Optimizer updates: Adam, bit for bit as tfjs computes it.
#include <cmath>

#include "kernels.h"
#include "pool.h"

namespace pb {
namespace {

// Adam update of one variable from its gradient g: m and v in place, the new weights into wOut, with
// exactly the float32 operations of tfjs' AdamOptimizer in its order (one rounding per op, no fused
// multiply-add, which is why contraction is off here), so the result is bit for bit what its chain
// of ~14 kernels gives:
//   m' = m*b1 + g*(1-b1)            v' = v*b2 + (g*g)*(1-b2)
//   w' = ((m'/(1-b1^t)) / (sqrt(v'/(1-b2^t)) + eps)) * (-lr) + w
// c = [b1, 1-b1, b2, 1-b2, 1-b1^t, 1-b2^t, eps, -lr], each already rounded to float32.
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
PB_CLONES void adamRange(const float* __restrict w, const float* __restrict g, float* __restrict m, float* __restrict v, const float* c,
                         float* __restrict wOut, long from, long to) {
#ifdef __clang__
#pragma clang fp contract(off)  // clang ignores the GCC pragma above (its default contracts to FMA)
#endif
  const float b1 = c[0], omb1 = c[1], b2 = c[2], omb2 = c[3], omab1 = c[4], omab2 = c[5], eps = c[6], nlr = c[7];
  for (long i = from; i < to; i++) {
    const float gi = g[i];
    const float m1 = m[i] * b1 + gi * omb1;
    const float v1 = v[i] * b2 + (gi * gi) * omb2;
    const float mh = m1 / omab1;
    const float vh = v1 / omab2;
    wOut[i] = (mh / (std::sqrt(vh) + eps)) * nlr + w[i];
    m[i] = m1;
    v[i] = v1;
  }
}
#pragma GCC pop_options

}  // namespace

// Element-wise, so chunks are independent; small tensors stay on the calling thread.
void adam(const float* w, const float* g, float* m, float* v, const float* c, float* wOut, long n) {
  const long CHUNK = 16384;
  if (n <= 2 * CHUNK) return adamRange(w, g, m, v, c, wOut, 0, n);
  pool.parallelFor(ceilDiv(n, CHUNK), [&](long part) { adamRange(w, g, m, v, c, wOut, part * CHUNK, std::min(n, (part + 1) * CHUNK)); });
}

}  // namespace pb
