// Pooling: max pooling and its gradient; global average pooling (Mean over the middle axes) and its gradient.
#include <limits>

#include "kernels.h"
#include "pool.h"

namespace pb {

// Max pooling (geometry as a depthwise conv with multiplier 1). The gradient goes to the first
// maximum of each window in row-major order, as the cpu backend does.
// Fast paths for the usual pooling layer: every window inside the input (no padding) and channels a
// multiple of 8, processed as 8-float vectors. MaxPoolGrad additionally needs windows that tile the
// input without overlap (stride = window), so each input element gets at most one window's gradient
// and is written once, with no scatter.
namespace {

bool vectorPool(const Conv& c) {
  return c.Ci % 8 == 0 && c.PT == 0 && c.PL == 0 && (c.OH - 1) * c.SH + c.FH <= c.H && (c.OW - 1) * c.SW + c.FW <= c.W && c.DH == 1 && c.DW == 1;
}

PB_CLONES void maxPoolRow(const Conv& c, const float* x, float* y, long row) {
  {
    long b = row / c.OH, oy = row % c.OH;
    for (long ox = 0; ox < c.OW; ox++) {
      const float* x0 = x + ((b * c.H + oy * c.SH) * c.W + ox * c.SW) * c.Ci;
      float* out = y + (row * c.OW + ox) * c.Ci;
      for (long cb = 0; cb < c.Ci; cb += 8) {
        v8f m;
        std::memcpy(&m, x0 + cb, sizeof(v8f));
        for (long i = 0; i < c.FH; i++)
          for (long j = 0; j < c.FW; j++) {
            v8f v;
            std::memcpy(&v, x0 + (i * c.W + j) * c.Ci + cb, sizeof(v8f));
            m = m < v ? v : m;  // std::max's choice, lane by lane
          }
        std::memcpy(out + cb, &m, sizeof(v8f));
      }
    }
  }
}

void maxPoolVec(const Conv& c, const float* x, float* y) {
  pool.parallelFor(c.B * c.OH, [&](long row) { maxPoolRow(c, x, y, row); });
}

// The gradient goes to the first tap (row-major) holding the window's maximum: the running best is
// replaced only by a strictly greater value, as in the scalar path.
PB_CLONES void maxPoolGradRow(const Conv& c, const float* dy, const float* x, float* dx, long row) {
  const long rowFloats = c.W * c.Ci, coveredW = c.OW * c.FW, taps = c.FH * c.FW;
  long tapAt[64];  // offsets of the window's taps (the fast path takes windows of at most 64)
  for (long t = 0; t < taps; t++) tapAt[t] = ((t / c.FW) * c.W + t % c.FW) * c.Ci;
  {
    long b = row / c.OH, oy = row % c.OH;
    for (long ox = 0; ox < c.OW; ox++) {
      const long at = ((b * c.H + oy * c.FH) * c.W + ox * c.FW) * c.Ci;
      const float* g = dy + (row * c.OW + ox) * c.Ci;
      for (long cb = 0; cb < c.Ci; cb += 8) {
        v8f best;
        std::memcpy(&best, x + at + cb, sizeof(v8f));
        v8i where = v8i{};
        for (long t = 1; t < taps; t++) {
          v8f v;
          std::memcpy(&v, x + at + tapAt[t] + cb, sizeof(v8f));
          v8i gt = v > best;
          best = gt ? v : best;
          where = gt ? (v8i{} + (int32_t)t) : where;
        }
        v8f gv;
        std::memcpy(&gv, g + cb, sizeof(v8f));
        for (long t = 0; t < taps; t++) {
          v8f out = (where == (int32_t)t) ? gv : v8f{};
          std::memcpy(dx + at + tapAt[t] + cb, &out, sizeof(v8f));
        }
      }
    }
    // Columns right of the last window, and rows below the last window row: no gradient.
    for (long i = 0; i < c.FH; i++) {
      float* r = dx + (b * c.H + oy * c.FH + i) * rowFloats;
      std::fill(r + coveredW * c.Ci, r + rowFloats, 0.f);
    }
    if (oy == c.OH - 1) std::fill(dx + (b * c.H + c.OH * c.FH) * rowFloats, dx + (b + 1) * c.H * rowFloats, 0.f);
  }
}

void maxPoolGradTiled(const Conv& c, const float* dy, const float* x, float* dx) {
  pool.parallelFor(c.B * c.OH, [&](long row) { maxPoolGradRow(c, dy, x, dx, row); });
}

}  // namespace

void maxPool(const Conv& c, const float* x, float* y) {
  if (vectorPool(c)) return maxPoolVec(c, x, y);
  pool.parallelFor(c.B * c.OH, [&](long row) {
    long b = row / c.OH, oy = row % c.OH;
    for (long ox = 0; ox < c.OW; ox++) {
      float* out = y + ((b * c.OH + oy) * c.OW + ox) * c.Ci;
      std::fill(out, out + c.Ci, -std::numeric_limits<float>::infinity());
      forEachTap(c, b, oy, ox, [&](long in, long) {
        for (long ch = 0; ch < c.Ci; ch++) out[ch] = std::max(out[ch], x[in + ch]);
      });
    }
  });
}

void maxPoolGrad(const Conv& c, const float* dy, const float* x, float* dx) {
  if (vectorPool(c) && c.SH == c.FH && c.SW == c.FW && c.FH * c.FW <= 64) return maxPoolGradTiled(c, dy, x, dx);
  long imageSize = c.H * c.W * c.Ci;
  pool.parallelFor(c.B, [&](long b) {
    float* dxb = dx + b * imageSize;
    const float* xb = x + b * imageSize;
    std::fill(dxb, dxb + imageSize, 0.f);
    // Offsets within the image as int32, beside float maxima: the selects below vectorise
    // (random data would mispredict a branch half the time).
    std::vector<float> best(c.Ci);
    std::vector<int32_t> where(c.Ci);
    for (long oy = 0; oy < c.OH; oy++)
      for (long ox = 0; ox < c.OW; ox++) {
        bool first = true;
        forEachTap(c, b, oy, ox, [&](long in, long) {
          const int32_t base = (int32_t)(in - b * imageSize);
          const float* xi = xb + base;
          if (first) {
            for (long ch = 0; ch < c.Ci; ch++) {
              best[ch] = xi[ch];
              where[ch] = base + (int32_t)ch;
            }
            first = false;
            return;
          }
          for (long ch = 0; ch < c.Ci; ch++) {
            const bool gt = xi[ch] > best[ch];
            best[ch] = gt ? xi[ch] : best[ch];
            where[ch] = gt ? base + (int32_t)ch : where[ch];
          }
        });
        if (first) continue;  // a window wholly in the padding
        const float* g = dy + ((b * c.OH + oy) * c.OW + ox) * c.Ci;
        for (long ch = 0; ch < c.Ci; ch++) dxb[where[ch]] += g[ch];
      }
  });
}

// out[o, c] = Σ_i x[o, i, c] / inner: Mean over the middle axes of [outer, inner, C] (H and W of NHWC
// for global average pooling). Each (o) is summed by one task, in order: deterministic.
void meanMiddle(const float* x, float* out, long outer, long inner, long C) {
  pool.parallelFor(outer, [&](long o) {
    float* acc = out + o * C;
    const float* xo = x + o * inner * C;
    std::fill(acc, acc + C, 0.f);
    for (long i = 0; i < inner; i++)
      for (long c = 0; c < C; c++) acc[c] += xo[i * C + c];
    const float n = (float)inner;
    for (long c = 0; c < C; c++) acc[c] /= n;
  });
}

// Its gradient, as tfjs computes it: dx[o, i, c] = dy[o, c] / inner.
void meanMiddleGrad(const float* dy, float* dx, long outer, long inner, long C) {
  pool.parallelFor(outer, [&](long o) {
    std::vector<float> g(dy + o * C, dy + (o + 1) * C);
    const float n = (float)inner;
    for (long c = 0; c < C; c++) g[c] /= n;
    float* d = dx + o * inner * C;
    for (long i = 0; i < inner; i++) std::memcpy(d + i * C, g.data(), C * sizeof(float));
  });
}

}  // namespace pb
