// Batch normalization over the last axis of x[R, C] (NHWC activations: R = B*H*W rows of C channels):
// batch statistics, the normalization itself, and the training gradient (dx, dgamma, dbeta).
// Reductions sum fixed row ranges into their own partials (float within blocks of 64 rows, double
// across blocks), added in range order, so results do not depend on the thread count. The variance
// is E[(x − shift)²] − (E[x] − shift)² with the shift the first row's values, which keeps the single
// pass accurate when a channel's mean is large against its spread.
#include <cmath>
#include <cstring>

#include "kernels.h"
#include "pool.h"

namespace pb {
namespace {

// Rows per reduction range: a function of R only (never of the thread count).
long statParts(long R) { return std::max(1L, std::min(REDUCE_PARTS * 2, R / 256)); }

// s[c] += Σ (a − ma), q[c] += Σ (a − ma)·(b − mb) over rows [r0, r1): a = b = x and ma = mb = a shift
// for the statistics, a = dy (ma null: 0) and b = x, mb = the mean for the gradient. Blocks of 64 rows sum in float vectors (8 channels at a time), each
// block's sums then go into the double accumulators: exact enough, and vector speed.
PB_CLONES void sumsRange(const float* a, const float* ma, const float* b, const float* mb, long C, long r0, long r1, double* s, double* q) {
  constexpr long BLOCK = 64;
  for (long rb = r0; rb < r1; rb += BLOCK) {
    const long re = std::min(r1, rb + BLOCK);
    long c = 0;
    for (; c + 8 <= C; c += 8) {
      v8f am = v8f{}, bm;
      if (ma) std::memcpy(&am, ma + c, sizeof(v8f));
      std::memcpy(&bm, mb + c, sizeof(v8f));
      // Four rows at a time into four pairs of sums (one pair was bound by the add latency), combined
      // in a fixed order.
      v8f sv[4] = {}, qv[4] = {};
      long r = rb;
      for (; r + 4 <= re; r += 4)
        for (int u = 0; u < 4; u++) {
          v8f av, bv;
          std::memcpy(&av, a + (r + u) * C + c, sizeof(v8f));
          std::memcpy(&bv, b + (r + u) * C + c, sizeof(v8f));
          av -= am;
          sv[u] += av;
          qv[u] += av * (bv - bm);
        }
      for (; r < re; r++) {
        v8f av, bv;
        std::memcpy(&av, a + r * C + c, sizeof(v8f));
        std::memcpy(&bv, b + r * C + c, sizeof(v8f));
        av -= am;
        sv[0] += av;
        qv[0] += av * (bv - bm);
      }
      const v8f st = (sv[0] + sv[1]) + (sv[2] + sv[3]), qt = (qv[0] + qv[1]) + (qv[2] + qv[3]);
      for (int k = 0; k < 8; k++) s[c + k] += st[k], q[c + k] += qt[k];
    }
    for (; c < C; c++) {
      const float am = ma ? ma[c] : 0.f, bm = mb[c];
      float sv = 0.f, qv = 0.f;
      for (long r = rb; r < re; r++) {
        const float av = a[r * C + c] - am;
        sv += av, qv += av * (b[r * C + c] - bm);
      }
      s[c] += sv, q[c] += qv;
    }
  }
}

// Σ (a − ma) and Σ (a − ma)·(b − mb) per channel, deterministic (fixed ranges, summed in order).
void channelSums(const float* a, const float* ma, const float* b, const float* mb, long R, long C, std::vector<double>& s, std::vector<double>& q) {
  const long parts = statParts(R), per = ceilDiv(R, parts);
  std::vector<std::vector<double>> partial(parts);
  pool.parallelFor(parts, [&](long p) {
    partial[p].assign(2 * C, 0.0);
    sumsRange(a, ma, b, mb, C, p * per, std::min(R, (p + 1) * per), partial[p].data(), partial[p].data() + C);
  });
  s.assign(C, 0.0);
  q.assign(C, 0.0);
  for (const auto& p : partial)
    for (long c = 0; c < C; c++) s[c] += p[c], q[c] += p[C + c];
}

// y = x·scale[c] + shift[c], in row chunks.
PB_CLONES void affineRange(const float* x, const float* scale, const float* shift, float* y, long C, long r0, long r1) {
  for (long r = r0; r < r1; r++) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    for (long c = 0; c < C; c++) yr[c] = xr[c] * scale[c] + shift[c];
  }
}

void affine(const float* x, const float* scale, const float* shift, float* y, long R, long C) {
  const long per = std::max(1L, 32768 / C);
  pool.parallelFor(ceilDiv(R, per), [&](long i) { affineRange(x, scale, shift, y, C, i * per, std::min(R, (i + 1) * per)); });
}

// dx = a[c]·(dy − b[c] − (x − mean[c])·k[c]).
PB_CLONES void bnGradRange(const float* dy, const float* x, const float* mean, const float* a, const float* b, const float* k, float* dx, long C,
                           long r0, long r1) {
  for (long r = r0; r < r1; r++) {
    const float* g = dy + r * C;
    const float* xr = x + r * C;
    float* d = dx + r * C;
    for (long c = 0; c < C; c++) d[c] = a[c] * (g[c] - b[c] - (xr[c] - mean[c]) * k[c]);
  }
}

}  // namespace

// y = (x − mean)·γ/√(var + ε) + β with the given statistics (inference); gamma, beta may be null (1, 0).
void batchNorm(const float* x, const float* mean, const float* var, const float* gamma, const float* beta, float eps, float* y, long R, long C) {
  std::vector<float> scale(C), shift(C);
  for (long c = 0; c < C; c++) {
    scale[c] = (gamma ? gamma[c] : 1.f) / std::sqrt(var[c] + eps);
    shift[c] = (beta ? beta[c] : 0.f) - mean[c] * scale[c];
  }
  affine(x, scale.data(), shift.data(), y, R, C);
}

// Training: the batch mean and (biased) variance per channel into mean and var, then y normalized with them.
void batchNormTrain(const float* x, const float* gamma, const float* beta, float eps, float* y, float* mean, float* var, long R, long C) {
  std::vector<double> s, q;
  // Σ (x − shift) and Σ (x − shift)² with shift = the first row (any value of the channel will do).
  channelSums(x, x, x, x, R, C, s, q);
  for (long c = 0; c < C; c++) {
    const double d = s[c] / (double)R;
    mean[c] = (float)((double)x[c] + d);
    var[c] = (float)std::max(0.0, q[c] / (double)R - d * d);
  }
  batchNorm(x, mean, var, gamma, beta, eps, y, R, C);
}

// The gradient of batchNormTrain's y through the batch statistics too (the statistics themselves are
// constants of nothing downstream): with x̂ = (x − mean)·r, r = 1/√(var + ε),
//   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ·r·(dy − dβ/R − x̂·dγ/R).
void batchNormGrad(const float* dy, const float* x, const float* mean, const float* var, const float* gamma, float eps, float* dx, float* dgamma,
                   float* dbeta, long R, long C) {
  std::vector<double> s, q;
  channelSums(dy, nullptr, x, mean, R, C, s, q);
  std::vector<float> a(C), b(C), k(C);
  for (long c = 0; c < C; c++) {
    const double r = 1.0 / std::sqrt((double)var[c] + (double)eps);
    dbeta[c] = (float)s[c];
    dgamma[c] = (float)(q[c] * r);
    a[c] = (float)((gamma ? gamma[c] : 1.f) * r);
    b[c] = (float)(s[c] / (double)R);
    k[c] = (float)(r * r * q[c] / (double)R);
  }
  if (!dx) return;
  const long per = std::max(1L, 32768 / C);
  pool.parallelFor(ceilDiv(R, per), [&](long i) { bnGradRange(dy, x, mean, a.data(), b.data(), k.data(), dx, C, i * per, std::min(R, (i + 1) * per)); });
}

}  // namespace pb
