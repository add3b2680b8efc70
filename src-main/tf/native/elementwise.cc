// Element-wise kernels and row reductions: bias addition and its gradient (sum over leading axes),
// same-shape addition (residual connections), and the gradients of ReLU6 and clipping.
#include <limits>

#include "kernels.h"
#include "pool.h"

namespace pb {
namespace {

// out[8*nv] = sum of R rows of 8*nv floats, each column summed in row order.
PB_CLONES void sumRowsVec(const float* x, long R, long nv, float* out) {
  v8f acc[8] = {};
  for (long r = 0; r < R; r++)
    for (long q = 0; q < nv; q++) {
      v8f v;
      std::memcpy(&v, x + (r * nv + q) * 8, sizeof(v8f));
      acc[q] += v;
    }
  std::memcpy(out, acc, nv * sizeof(v8f));
}

// out[rows, 8*nv] = x + bias, rows of 8*nv floats.
PB_CLONES void addBiasVec(const float* x, const float* bias, float* out, long rows, long nv) {
  v8f bv[8];
  std::memcpy(bv, bias, nv * sizeof(v8f));
  for (long r = 0; r < rows; r++)
    for (long q = 0; q < nv; q++) {
      v8f v;
      std::memcpy(&v, x + (r * nv + q) * 8, sizeof(v8f));
      v += bv[q];
      std::memcpy(out + (r * nv + q) * 8, &v, sizeof(v8f));
    }
}

}  // namespace

// out[C] = sum over rows of x[R, C] (a reduction over leading axes, as for bias gradients).
void sumRows(const float* x, long R, long C, float* out) {
  long parts = std::min(REDUCE_PARTS, std::max(1L, R / 64)), per = ceilDiv(R, parts);
  std::vector<std::vector<float>> partial(parts);
  if (C % 8 == 0 && C <= 64) {  // bias gradients of usual widths: whole rows in vector registers
    const long nv = C / 8;
    pool.parallelFor(parts, [&](long part) {
      partial[part].resize(C);
      sumRowsVec(x + part * per * C, std::max(0L, std::min(R, (part + 1) * per) - part * per), nv, partial[part].data());
    });
    return sumPartials(partial, C, out);
  }
  pool.parallelFor(parts, [&](long part) {
    partial[part].assign(C, 0.f);
    float* acc = partial[part].data();
    for (long r = part * per, e = std::min(R, r + per); r < e; r++)
      for (long j = 0; j < C; j++) acc[j] += x[r * C + j];
  });
  sumPartials(partial, C, out);
}

// out[R, C] = x[R, C] + bias[C] (Add with its smaller side broadcast over leading axes; C = 1 is a
// scalar, R = 1 same shapes). Float addition commutes, so which side was `a` does not matter.
void addBias(const float* x, const float* bias, float* out, long R, long C) {
  auto rowsOf = [&](long r0, long r1) {
    if (C == 1) {
      const float s = bias[0];
      for (long i = r0; i < r1; i++) out[i] = x[i] + s;
      return;
    }
    if (C % 8 == 0 && C <= 64) return addBiasVec(x + r0 * C, bias, out + r0 * C, r1 - r0, C / 8);
    for (long r = r0; r < r1; r++) {
      const float* xr = x + r * C;
      float* o = out + r * C;
      for (long j = 0; j < C; j++) o[j] = xr[j] + bias[j];
    }
  };
  const long per = std::max(1L, 65536 / C);
  if (R <= per) return rowsOf(0, R);
  pool.parallelFor(ceilDiv(R, per), [&](long i) { rowsOf(i * per, std::min(R, (i + 1) * per)); });
}


namespace {

// Splits n elements into fixed chunks of 16384 (small tensors stay on the calling thread).
template <typename F>
void elementwise(long n, F&& range) {
  const long CHUNK = 16384;
  if (n <= 2 * CHUNK) return range(0L, n);
  pool.parallelFor(ceilDiv(n, CHUNK), [&](long i) { range(i * CHUNK, std::min(n, (i + 1) * CHUNK)); });
}

PB_CLONES void addRange(const float* a, const float* b, float* out, long from, long to) {
  for (long i = from; i < to; i++) out[i] = a[i] + b[i];
}

// tfjs' ClipByValue gradient, select(lo <= x && x <= hi, dy, 0): dy itself where x is inside (NaN x
// is not), else 0.
PB_CLONES void clipGradRange(const float* dy, const float* x, float lo, float hi, float* dx, long from, long to) {
  for (long i = from; i < to; i++) dx[i] = (x[i] >= lo && x[i] <= hi) ? dy[i] : 0.f;
}

// tfjs' Relu6 gradient, dy · float32((x <= 6) · step(x)): the float product, so dy where 0 < x <= 6,
// ±0 elsewhere (NaN for an infinite dy), NaN where x is NaN.
PB_CLONES void relu6GradRange(const float* dy, const float* x, float* dx, long from, long to) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  long i = from;
  // Explicit vectors: the scalar form's NaN select did not vectorise (6x slower than the forward clip).
  const v8f zero = v8f{}, six = zero + 6.f, one = zero + 1.f, nanv = zero + nan;
  for (; i + 8 <= to; i += 8) {
    v8f v, g;
    std::memcpy(&v, x + i, sizeof(v8f));
    std::memcpy(&g, dy + i, sizeof(v8f));
    const v8f mask = (v != v) ? nanv : ((v > zero) & (v <= six) ? one : zero);
    const v8f out = g * mask;
    std::memcpy(dx + i, &out, sizeof(v8f));
  }
  for (; i < to; i++) {
    const float v = x[i];
    const float mask = v != v ? nan : (v > 0.f && v <= 6.f ? 1.f : 0.f);
    dx[i] = dy[i] * mask;
  }
}

PB_CLONES void clipRange(const float* x, float lo, float hi, float* y, long from, long to) {
  // NaN passes through, as tfjs' clip does (comparisons with NaN are false).
  for (long i = from; i < to; i++) y[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
}

}  // namespace

void addSame(const float* a, const float* b, float* out, long n) {
  elementwise(n, [&](long from, long to) { addRange(a, b, out, from, to); });
}

void clip(const float* x, float lo, float hi, float* y, long n) {
  elementwise(n, [&](long from, long to) { clipRange(x, lo, hi, y, from, to); });
}

void clipGrad(const float* dy, const float* x, float lo, float hi, float* dx, long n) {
  elementwise(n, [&](long from, long to) { clipGradRange(dy, x, lo, hi, dx, from, to); });
}

void relu6Grad(const float* dy, const float* x, float* dx, long n) {
  elementwise(n, [&](long from, long to) { relu6GradRange(dy, x, dx, from, to); });
}

}  // namespace pb
