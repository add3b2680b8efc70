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

// Interior runs. Along a row, every pixel away from the left and right borders reads the same taps at
// the same offsets from its own base: the run kernels below take those offsets once per row (no
// per-pixel tap lists, no branches in the loop) and keep the weights of a channel block in registers
// (a compile-time tap count for 3x3 filters). Border pixels take the per-pixel path.

inline v8f load8(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void store8(float* p, v8f v) { std::memcpy(p, &v, sizeof(v)); }

inline v8f activate8(v8f v, int act) {
  const v8f zero = v8f{}, six = zero + 6.f;
  if (act == RELU) return v < zero ? zero : v;  // NaN passes, as in the unfused kernels
  if (act == RELU6) return v < zero ? zero : (v > six ? six : v);
  return v;
}

// out[q*os + ch] = Σ_t in[q*is + rel[t] + ch] · w[woff[t] + ch] (+ bias, activation) for one block of 8
// channels and q in [0, count): groups of 4 pixels (four independent sums), each summed over taps in order.
template <int NT>
inline __attribute__((always_inline)) void runBlock(int n, const float* in, long is, const long* rel, const v8f* wv, const float* bias, int act,
                                                    float* out, long os, long count) {
  const int taps = NT ? NT : n;
  v8f w[NT ? NT : 1];
  if (NT)
    for (int t = 0; t < NT; t++) w[t] = wv[t];
  const v8f* wt = NT ? w : wv;
  const v8f bv = bias ? load8(bias) : v8f{};
  long q = 0;
  for (; q + 4 <= count; q += 4) {
    const float* p = in + q * is;
    v8f a0 = load8(p + rel[0]) * wt[0], a1 = load8(p + is + rel[0]) * wt[0], a2 = load8(p + 2 * is + rel[0]) * wt[0],
        a3 = load8(p + 3 * is + rel[0]) * wt[0];
    for (int t = 1; t < taps; t++) {
      a0 += load8(p + rel[t]) * wt[t];
      a1 += load8(p + is + rel[t]) * wt[t];
      a2 += load8(p + 2 * is + rel[t]) * wt[t];
      a3 += load8(p + 3 * is + rel[t]) * wt[t];
    }
    if (bias) a0 += bv, a1 += bv, a2 += bv, a3 += bv;
    float* o = out + q * os;
    store8(o, activate8(a0, act)), store8(o + os, activate8(a1, act)), store8(o + 2 * os, activate8(a2, act)), store8(o + 3 * os, activate8(a3, act));
  }
  for (; q < count; q++) {
    const float* p = in + q * is;
    v8f a = load8(p + rel[0]) * wt[0];
    for (int t = 1; t < taps; t++) a += load8(p + rel[t]) * wt[t];
    if (bias) a += bv;
    store8(out + q * os, activate8(a, act));
  }
}

// The run over every channel: blocks of 8, then the tail channels one by one (same order of sums).
PB_CLONES void tapsRun(long C, int n, const float* in, long is, const long* rel, const float* w, const long* woff, const float* bias, int act,
                       float* out, long os, long count) {
  if (count <= 0) return;
  if (n == 0) {
    for (long q = 0; q < count; q++)
      for (long ch = 0; ch < C; ch++) {
        float v = bias ? bias[ch] : 0.f;
        activate(&v, act);
        out[q * os + ch] = v;
      }
    return;
  }
  long ch = 0;
  for (; ch + 8 <= C; ch += 8) {
    v8f wv[MAX_TAPS];
    for (int t = 0; t < n; t++) wv[t] = load8(w + woff[t] + ch);
    const float* bb = bias ? bias + ch : nullptr;
    if (n == 9) runBlock<9>(n, in + ch, is, rel, wv, bb, act, out + ch, os, count);
    else runBlock<0>(n, in + ch, is, rel, wv, bb, act, out + ch, os, count);
  }
  for (; ch < C; ch++)
    for (long q = 0; q < count; q++) {
      const float* p = in + q * is + ch;
      float a = p[rel[0]] * w[woff[0] + ch];
      for (int t = 1; t < n; t++) a += p[rel[t]] * w[woff[t] + ch];
      if (bias) a += bias[ch];
      activate(&a, act);
      out[q * os + ch] = a;
    }
}

// acc[woff[t] + ch] += Σ_q in[q*is + rel[t] + ch] · g[q*gs + ch] for every tap t: one register per tap
// for a block of 8 channels (a compile-time count for 3x3 filters), summed over q in order.
template <int NT>
inline __attribute__((always_inline)) void gradBlock(int n, const float* in, long is, const long* rel, const float* g, long gs, long count, float* acc,
                                                     const long* woff) {
  const int taps = NT ? NT : n;
  v8f sum[NT ? NT : MAX_TAPS];
  {
    const v8f gv = load8(g);
    for (int t = 0; t < taps; t++) sum[t] = load8(in + rel[t]) * gv;
  }
  for (long q = 1; q < count; q++) {
    const v8f gv = load8(g + q * gs);
    const float* p = in + q * is;
    for (int t = 0; t < taps; t++) sum[t] += load8(p + rel[t]) * gv;
  }
  for (int t = 0; t < taps; t++) store8(acc + woff[t], load8(acc + woff[t]) + sum[t]);
}

PB_CLONES void tapsGradRun(long C, int n, const float* in, long is, const long* rel, const float* g, long gs, long count, float* acc, const long* woff) {
  if (count <= 0 || n == 0) return;
  long ch = 0;
  for (; ch + 8 <= C; ch += 8) {
    if (n == 9) gradBlock<9>(n, in + ch, is, rel, g + ch, gs, count, acc + ch, woff);
    else gradBlock<0>(n, in + ch, is, rel, g + ch, gs, count, acc + ch, woff);
  }
  for (; ch < C; ch++)
    for (int t = 0; t < n; t++) {
      float s = 0.f;
      for (long q = 0; q < count; q++) s += in[q * is + rel[t] + ch] * g[q * gs + ch];
      acc[woff[t] + ch] += s;
    }
}

// Taps of output row (b, oy) whose input row is inside, as offsets from image b's first pixel plus the
// pixel's column (ox*SW − PL)*C, and filter offsets tap*C; the range [lo, hi) of output columns whose
// every tap column is inside the input.
struct RowTaps {
  int n = 0;
  long rel[MAX_TAPS], woff[MAX_TAPS];
  long lo, hi;
  RowTaps(const Conv& c, long oy) {
    const long C = c.Ci;
    for (long i = 0; i < c.FH; i++) {
      const long iy = oy * c.SH + i * c.DH - c.PT;
      if (iy < 0 || iy >= c.H) continue;
      for (long j = 0; j < c.FW; j++) rel[n] = (iy * c.W + j * c.DW) * C, woff[n++] = (i * c.FW + j) * C;
    }
    lo = std::min(c.OW, ceilDiv(c.PL, c.SW));
    const long last = c.W - 1 + c.PL - (c.FW - 1) * c.DW;  // ox*SW <= last
    hi = last < 0 ? lo : std::max(lo, std::min(c.OW, last / c.SW + 1));
  }
};

void depthwiseVec(const Conv& c, const float* x, const float* w, const float* bias, int act, float* y) {
  const long C = c.Ci;
  pool.parallelFor(c.B * c.OH, [&](long row) {
    long b = row / c.OH, oy = row % c.OH, off[MAX_TAPS], tap[MAX_TAPS];
    const RowTaps rt(c, oy);
    auto border = [&](long ox) {
      int n = tapsOf(c, b, oy, ox, off, tap);
      for (int t = 0; t < n; t++) tap[t] *= C;
      dotTaps(C, n, x, off, w, tap, bias, act, y + (row * c.OW + ox) * C);
    };
    for (long ox = 0; ox < rt.lo; ox++) border(ox);
    const float* xb = x + (b * c.H * c.W + rt.lo * c.SW - c.PL) * C;
    tapsRun(C, rt.n, xb, c.SW * C, rt.rel, w, rt.woff, bias, act, y + (row * c.OW + rt.lo) * C, C, rt.hi - rt.lo);
    for (long ox = rt.hi; ox < c.OW; ox++) border(ox);
  });
}

// dx[b, iy, ix] = Σ over the (output pixel, tap) pairs that read input (iy, ix) of dy · w: the taps i
// with iy + PT − i·DH a multiple of SH inside the output, likewise for columns. The columns of one
// residue ix mod SW share their taps (for stride 2: even and odd columns), so each residue is one
// interior run over dy with no stride test inside.
void depthwiseInputVec(const Conv& c, const float* dy, const float* w, float* dx) {
  const long C = c.Ci;
  pool.parallelFor(c.B * c.H, [&](long row) {
    long b = row / c.H, iy = row % c.H, off[MAX_TAPS], tap[MAX_TAPS];
    auto border = [&](long ix) {
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
    };
    // Tap rows that reach this input row, as offsets of their dy rows.
    long rowOff[MAX_TAPS], rowTap[MAX_TAPS];
    int rows = 0;
    for (long i = 0; i < c.FH; i++) {
      long ty = iy + c.PT - i * c.DH;
      if (ty < 0 || ty % c.SH || ty / c.SH >= c.OH) continue;
      rowOff[rows] = (ty / c.SH) * c.OW * C, rowTap[rows++] = i * c.FW;
    }
    for (long px = 0; px < std::min(c.SW, c.W); px++) {
      const long count = ceilDiv(c.W - px, c.SW);  // columns ix = px + SW*q
      long rel[MAX_TAPS], woff[MAX_TAPS], emin = 0, emax = 0;
      int n = 0;
      for (long j = 0; j < c.FW; j++) {
        const long v = px + c.PL - j * c.DW;  // ox = q + v / SW when SW divides v
        if (((v % c.SW) + c.SW) % c.SW) continue;
        const long e = v / c.SW;
        emin = n ? std::min(emin, e) : e, emax = n ? std::max(emax, e) : e;
        rel[n] = e, woff[n++] = j;
      }
      // Taps in filter order (rows outer, columns inner), as the per-pixel path sums them.
      long trel[MAX_TAPS], twoff[MAX_TAPS];
      int nt = 0;
      for (int r = 0; r < rows; r++)
        for (int k = 0; k < n; k++) trel[nt] = rowOff[r] + rel[k] * C, twoff[nt++] = (rowTap[r] + woff[k]) * C;
      long lo = n ? std::max<long>(0, -emin) : 0, hi = n ? std::min(count, c.OW - emax) : count;
      lo = std::min(lo, count), hi = std::max(hi, lo);
      for (long q = 0; q < lo; q++) border(px + q * c.SW);
      tapsRun(C, nt, dy + (b * c.OH * c.OW + lo) * C, C, trel, w, twoff, nullptr, LINEAR, dx + (row * c.W + px + lo * c.SW) * C, c.SW * C, hi - lo);
      for (long q = hi; q < count; q++) border(px + q * c.SW);
    }
  });
}

// acc[t·C + ch] += Σ over the row's output pixels of x(tap t) · dy: the border pixels through their
// tap lists, the interior as one run (a register per tap and channel block).
PB_CLONES void filterRow(const Conv& c, const float* x, const float* dy, long b, long oy, float* acc) {
  const long C = c.Ci;
  const RowTaps rt(c, oy);
  const float* g0 = dy + (b * c.OH + oy) * c.OW * C;
  long off[MAX_TAPS], tap[MAX_TAPS];
  auto border = [&](long ox) {
    const int n = tapsOf(c, b, oy, ox, off, tap);
    const float* g = g0 + ox * C;
    for (int t = 0; t < n; t++) {
      const float* xi = x + off[t];
      float* a = acc + tap[t] * C;
      for (long ch = 0; ch < C; ch++) a[ch] += xi[ch] * g[ch];
    }
  };
  for (long ox = 0; ox < rt.lo; ox++) border(ox);
  tapsGradRun(C, rt.n, x + (b * c.H * c.W + rt.lo * c.SW - c.PL) * C, c.SW * C, rt.rel, g0 + rt.lo * C, C, rt.hi - rt.lo, acc, rt.woff);
  for (long ox = rt.hi; ox < c.OW; ox++) border(ox);
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
