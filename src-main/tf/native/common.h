// Shared by every kernel family of the add-on: vector types, the convolution geometry, activations,
// the deterministic-reduction helpers, and PB_CLONES (x86-64-v4, AVX2+FMA and baseline clones of a
// hot function, picked at load time, so one binary runs on any x86-64 CPU without -march=native).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define PB_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define PB_CLONES
#endif

namespace pb {

// Explicit 8-float vectors (GCC/Clang vector extensions): left to auto-vectorisation, register-blocked
// loops compiled to shuffles and spills.
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

inline long ceilDiv(long a, long b) { return (a + b - 1) / b; }

// Sums partial buffers of `size` floats into out, in part order (deterministic).
void sumPartials(const std::vector<std::vector<float>>& partial, long size, float* out);

// Fixed number of ranges for reductions: enough to balance several threads, and independent of the
// thread count, so a result is bit-identical for 1 and N threads.
constexpr long REDUCE_PARTS = 8;

// Convolution geometry (NHWC input, HWIO filter), as computed by tfjs' computeConv2DInfo.
struct Conv {
  long B, H, W, Ci, OH, OW, Co, FH, FW, SH, SW, DH, DW, PT, PL;
  long K() const { return FH * FW * Ci; }
  long pixels() const { return B * OH * OW; }
};

enum Act { LINEAR = 0, RELU = 1, RELU6 = 2 };

// Visits the filter taps of one output pixel that fall inside the input, with the input pixel's
// offset and the tap index.
template <typename F>
inline void forEachTap(const Conv& c, long b, long oy, long ox, F&& f) {
  for (long i = 0; i < c.FH; i++) {
    long yy = oy * c.SH + i * c.DH - c.PT;
    if (yy < 0 || yy >= c.H) continue;
    for (long j = 0; j < c.FW; j++) {
      long xx = ox * c.SW + j * c.DW - c.PL;
      if (xx < 0 || xx >= c.W) continue;
      f(((b * c.H + yy) * c.W + xx) * c.Ci, (i * c.FW + j));
    }
  }
}

}  // namespace pb
