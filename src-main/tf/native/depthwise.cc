// Depthwise convolution (filter [FH, FW, Ci, M], output channel ci*M + m) and its input and filter
// gradients. Multiplier 1 (every MobileNet) takes vector paths over 8 channels at a time: the forward
// and the input gradient gather each output element's taps into a register and write it once (the
// input gradient as the gather "transpose" of the forward, which covers stride 2 without a scatter);
// the filter gradient keeps one register per tap for a channel block along a row of outputs. Other
// multipliers take the generic loops below them.
#include <cstring>

#include "kernels.h"
#include "gemm.h"
#include "pool.h"

namespace pb {
namespace {

constexpr long MAX_TAPS = 49;  // vector paths up to a 7x7 filter

// Taps (input offset, tap index) of output pixel (b, oy, ox) that fall inside the input.
inline int tapsOf(const Conv& c, long b, long oy, long ox, long* off, long* tap) {
  int n = 0;
  forEachTap(c, b, oy, ox, [&](long in, long t) { off[n] = in, tap[n] = t, n++; });
  return n;
}

inline void activate(float* v, int act) {
  if (act == RELU) *v = *v < 0.f ? 0.f : *v;  // NaN passes, as in the unfused kernels
  else if (act == RELU6) *v = *v < 0.f ? 0.f : (*v > 6.f ? 6.f : *v);
}

// out[ch] = Σ_t a[aoff[t] + ch] · w[woff[t] + ch] (+ bias, activation), channels in vectors of 8.
PB_CLONES void dotTaps(long C, int n, const float* a, const long* aoff, const float* w, const long* woff, const float* bias, int act, float* out) {
  long ch = 0;
  const v8f zero = v8f{}, six = zero + 6.f;
  for (; ch + 8 <= C; ch += 8) {
    v8f acc = zero;
    for (int t = 0; t < n; t++) {
      v8f av, wv;
      std::memcpy(&av, a + aoff[t] + ch, sizeof(v8f));
      std::memcpy(&wv, w + woff[t] + ch, sizeof(v8f));
      acc += av * wv;
    }
    if (bias) {
      v8f bv;
      std::memcpy(&bv, bias + ch, sizeof(v8f));
      acc += bv;
    }
    if (act == RELU) acc = acc < zero ? zero : acc;
    else if (act == RELU6) acc = acc < zero ? zero : (acc > six ? six : acc);
    std::memcpy(out + ch, &acc, sizeof(v8f));
  }
  for (; ch < C; ch++) {
    float acc = 0.f;
    for (int t = 0; t < n; t++) acc += a[aoff[t] + ch] * w[woff[t] + ch];
    if (bias) acc += bias[ch];
    activate(&acc, act);
    out[ch] = acc;
  }
}

bool vectorPath(const Conv& c, long M) { return M == 1 && c.FH * c.FW <= MAX_TAPS; }

void depthwiseVec(const Conv& c, const float* x, const float* w, const float* bias, int act, float* y) {
  const long C = c.Ci;
  pool.parallelFor(c.B * c.OH, [&](long row) {
    long b = row / c.OH, oy = row % c.OH, off[MAX_TAPS], tap[MAX_TAPS];
    for (long ox = 0; ox < c.OW; ox++) {
      int n = tapsOf(c, b, oy, ox, off, tap);
      for (int t = 0; t < n; t++) tap[t] *= C;
      dotTaps(C, n, x, off, w, tap, bias, act, y + (row * c.OW + ox) * C);
    }
  });
}

// dx[b, iy, ix] = Σ over the (output pixel, tap) pairs that read input (iy, ix) of dy · w: the taps i
// with iy + PT − i·DH a multiple of SH inside the output, likewise for columns.
void depthwiseInputVec(const Conv& c, const float* dy, const float* w, float* dx) {
  const long C = c.Ci;
  pool.parallelFor(c.B * c.H, [&](long row) {
    long b = row / c.H, iy = row % c.H, off[MAX_TAPS], tap[MAX_TAPS];
    for (long ix = 0; ix < c.W; ix++) {
      int n = 0;
      for (long i = 0; i < c.FH; i++) {
        long ty = iy + c.PT - i * c.DH;
        if (ty < 0 || ty % c.SH || ty / c.SH >= c.OH) continue;
        for (long j = 0; j < c.FW; j++) {
          long tx = ix + c.PL - j * c.DW;
          if (tx < 0 || tx % c.SW || tx / c.SW >= c.OW) continue;
          off[n] = ((b * c.OH + ty / c.SH) * c.OW + tx / c.SW) * C;
          tap[n++] = (i * c.FW + j) * C;
        }
      }
      dotTaps(C, n, dy, off, w, tap, nullptr, LINEAR, dx + (row * c.W + ix) * C);
    }
  });
}

// acc[t·C + ch] += Σ over the row's output pixels of x(tap t) · dy, one vector register per tap. The
// row's tap lists are computed once; pixels with every tap inside (all but the borders) take a loop
// over a compile-time tap count (3x3: nine accumulators in registers).
template <int TAPS>
inline __attribute__((always_inline)) void filterRowT(const Conv& c, const float* x, const float* dy, long b, long oy, float* acc, std::vector<long>& offs, std::vector<long>& taps,
                std::vector<int>& counts) {
  const long C = c.Ci, nt = c.FH * c.FW;
  offs.resize(c.OW * nt), taps.resize(c.OW * nt), counts.resize(c.OW);
  for (long ox = 0; ox < c.OW; ox++) counts[ox] = tapsOf(c, b, oy, ox, &offs[ox * nt], &taps[ox * nt]);
  const float* g0 = dy + (b * c.OH + oy) * c.OW * C;
  for (long ch = 0; ch < C; ch += 8) {
    const int width = (int)std::min<long>(8, C - ch);
    v8f sum[MAX_TAPS];
    for (long t = 0; t < nt; t++) sum[t] = v8f{};
    for (long ox = 0; ox < c.OW; ox++) {
      const long* off = &offs[ox * nt];
      const long* tap = &taps[ox * nt];
      v8f gv = v8f{};
      if (width == 8) std::memcpy(&gv, g0 + ox * C + ch, sizeof(v8f));  // a constant size: one vector load
      else std::memcpy(&gv, g0 + ox * C + ch, width * sizeof(float));
      if (TAPS > 0 && width == 8 && counts[ox] == TAPS) {
        for (int t = 0; t < TAPS; t++) {
          v8f xv;
          std::memcpy(&xv, x + off[t] + ch, sizeof(v8f));
          sum[t] += xv * gv;
        }
        continue;
      }
      for (int t = 0; t < counts[ox]; t++) {
        v8f xv = v8f{};
        if (width == 8) std::memcpy(&xv, x + off[t] + ch, sizeof(v8f));
        else std::memcpy(&xv, x + off[t] + ch, width * sizeof(float));
        sum[tap[t]] += xv * gv;
      }
    }
    for (long t = 0; t < nt; t++) {
      float part[8];
      std::memcpy(part, &sum[t], sizeof(part));
      for (int k = 0; k < width; k++) acc[t * C + ch + k] += part[k];
    }
  }
}

PB_CLONES void filterRow(const Conv& c, const float* x, const float* dy, long b, long oy, float* acc) {
  thread_local std::vector<long> offs, taps;
  thread_local std::vector<int> counts;
  if (c.FH * c.FW == 9) filterRowT<9>(c, x, dy, b, oy, acc, offs, taps, counts);
  else filterRowT<0>(c, x, dy, b, oy, acc, offs, taps, counts);
}

void depthwiseFilterVec(const Conv& c, const float* x, const float* dy, float* dw) {
  const long size = c.FH * c.FW * c.Ci, rowsTotal = c.B * c.OH;
  const long parts = std::min(REDUCE_PARTS, rowsTotal), per = ceilDiv(rowsTotal, parts);
  std::vector<std::vector<float>> partial(parts);
  pool.parallelFor(parts, [&](long part) {
    partial[part].assign(size, 0.f);
    for (long row = part * per, e = std::min(rowsTotal, row + per); row < e; row++) filterRow(c, x, dy, row / c.OH, row % c.OH, partial[part].data());
  });
  sumPartials(partial, size, dw);
}

}  // namespace

void depthwise(const Conv& c, long M, const float* x, const float* w, const float* bias, int act, float* y) {
  if (vectorPath(c, M)) return depthwiseVec(c, x, w, bias, act, y);
  long Co = c.Ci * M;
  pool.parallelFor(c.B * c.OH, [&](long row) {
    long b = row / c.OH, oy = row % c.OH;
    for (long ox = 0; ox < c.OW; ox++) {
      float* out = y + ((b * c.OH + oy) * c.OW + ox) * Co;
      std::fill(out, out + Co, 0.f);
      forEachTap(c, b, oy, ox, [&](long in, long tap) {
        const float* xi = x + in;
        const float* f = w + tap * Co;
        for (long ch = 0; ch < c.Ci; ch++)
          for (long m = 0; m < M; m++) out[ch * M + m] += xi[ch] * f[ch * M + m];
      });
      epilogue(out, 1, Co, bias, act);
    }
  });
}

void depthwiseBackpropInput(const Conv& c, long M, const float* dy, const float* w, float* dx) {
  if (vectorPath(c, M)) return depthwiseInputVec(c, dy, w, dx);
  long Co = c.Ci * M, imageSize = c.H * c.W * c.Ci;
  pool.parallelFor(c.B, [&](long b) {
    std::fill(dx + b * imageSize, dx + (b + 1) * imageSize, 0.f);
    for (long oy = 0; oy < c.OH; oy++)
      for (long ox = 0; ox < c.OW; ox++) {
        const float* g = dy + ((b * c.OH + oy) * c.OW + ox) * Co;
        forEachTap(c, b, oy, ox, [&](long in, long tap) {
          float* d = dx + in;
          const float* f = w + tap * Co;
          for (long ch = 0; ch < c.Ci; ch++) {
            float s = 0.f;
            for (long m = 0; m < M; m++) s += g[ch * M + m] * f[ch * M + m];
            d[ch] += s;
          }
        });
      }
  });
}

void depthwiseBackpropFilter(const Conv& c, long M, const float* x, const float* dy, float* dw) {
  if (vectorPath(c, M)) return depthwiseFilterVec(c, x, dy, dw);
  long Co = c.Ci * M, size = c.FH * c.FW * Co, rowsTotal = c.B * c.OH;
  long parts = std::min(REDUCE_PARTS, rowsTotal), per = ceilDiv(rowsTotal, parts);
  std::vector<std::vector<float>> partial(parts);
  pool.parallelFor(parts, [&](long part) {
    partial[part].assign(size, 0.f);
    float* acc = partial[part].data();
    for (long row = part * per, e = std::min(rowsTotal, row + per); row < e; row++) {
      long b = row / c.OH, oy = row % c.OH;
      for (long ox = 0; ox < c.OW; ox++) {
        const float* g = dy + ((b * c.OH + oy) * c.OW + ox) * Co;
        forEachTap(c, b, oy, ox, [&](long in, long tap) {
          const float* xi = x + in;
          float* f = acc + tap * Co;
          for (long ch = 0; ch < c.Ci; ch++)
            for (long m = 0; m < M; m++) f[ch * M + m] += xi[ch] * g[ch * M + m];
        });
      }
    }
  });
  sumPartials(partial, size, dw);
}

}  // namespace pb
