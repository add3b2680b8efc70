// Pooling: max and average pooling and their gradients; global average pooling (Mean over the middle
// axes) and its gradient; zero padding of H and W (ZeroPadding2D, PadV2).
#include <cstring>
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

// Average pooling: each window's mean over the taps inside the input (padding is not counted, as
// in TensorFlow and tfjs).
void avgPool(const Conv& c, const float* x, float* y) {
  pool.parallelFor(c.B * c.OH, [&](long row) {
    long b = row / c.OH, oy = row % c.OH;
    for (long ox = 0; ox < c.OW; ox++) {
      float* out = y + (row * c.OW + ox) * c.Ci;
      std::fill(out, out + c.Ci, 0.f);
      long n = 0;
      forEachTap(c, b, oy, ox, [&](long in, long) {
        n++;
        for (long ch = 0; ch < c.Ci; ch++) out[ch] += x[in + ch];
      });
      const float count = (float)std::max(1L, n);
      for (long ch = 0; ch < c.Ci; ch++) out[ch] /= count;
    }
  });
}

// Its gradient: each window's dy / count back onto its taps, image by image (no two tasks write the
// same input).
void avgPoolGrad(const Conv& c, const float* dy, float* dx) {
  const long imageSize = c.H * c.W * c.Ci;
  pool.parallelFor(c.B, [&](long b) {
    std::fill(dx + b * imageSize, dx + (b + 1) * imageSize, 0.f);
    std::vector<float> g(c.Ci);
    for (long oy = 0; oy < c.OH; oy++)
      for (long ox = 0; ox < c.OW; ox++) {
        long n = 0;
        forEachTap(c, b, oy, ox, [&](long, long) { n++; });
        const float count = (float)std::max(1L, n);
        const float* d = dy + ((b * c.OH + oy) * c.OW + ox) * c.Ci;
        for (long ch = 0; ch < c.Ci; ch++) g[ch] = d[ch] / count;
        forEachTap(c, b, oy, ox, [&](long in, long) {
          for (long ch = 0; ch < c.Ci; ch++) dx[in + ch] += g[ch];
        });
      }
  });
}

// y[B, H + top + bottom, W + left + right, C] = x surrounded by `value`, row by row.
void pad2d(const float* x, float* y, long B, long H, long W, long C, long top, long bottom, long left, long right, float value) {
  const long OH = H + top + bottom, OW = W + left + right;
  pool.parallelFor(B * OH, [&](long row) {
    const long b = row / OH, oy = row % OH, iy = oy - top;
    float* out = y + row * OW * C;
    if (iy < 0 || iy >= H) return std::fill(out, out + OW * C, value);
    std::fill(out, out + left * C, value);
    std::memcpy(out + left * C, x + (b * H + iy) * W * C, W * C * sizeof(float));
    std::fill(out + (left + W) * C, out + OW * C, value);
  });
}

// y = x[b0:b0+s0, b1:b1+s1, b2:b2+s2, b3:b3+s3] of x[d0, d1, d2, d3] (Slice, e.g. ZeroPadding2D's
// gradient crop): one copy per (s0, s1) row, a single run when the slice keeps whole rows of the last axes.
void slice4d(const float* x, float* y, const long* d, const long* b, const long* s) {
  const bool wholeLast = s[3] == d[3];
  pool.parallelFor(s[0] * s[1], [&](long row) {
    const long i = row / s[1], j = row % s[1];
    const float* src = x + (((b[0] + i) * d[1] + b[1] + j) * d[2] + b[2]) * d[3] + b[3];
    float* dst = y + row * s[2] * s[3];
    if (wholeLast) return (void)std::memcpy(dst, src, s[2] * s[3] * sizeof(float));
    for (long k = 0; k < s[2]; k++) std::memcpy(dst + k * s[3], src + k * d[3], s[3] * sizeof(float));
  });
}

}  // namespace pb
