// GEMM micro-kernels and drivers (gemm.h).
#include "gemm.h"

#include <cstring>
#include <stdexcept>

#include "pool.h"

namespace pb {
namespace {

// Packs rows [k0, k0+kc) of B as panels of NR columns, each kc x NR (zero columns past N).
template <int NR_>
inline void packB(const View& B, long N, long k0, int kc, float* out) {
  long panels = (N + NR_ - 1) / NR_;
  for (long p = 0; p < panels; p++) {
    float* dst = out + p * kc * NR_;
    for (int k = 0; k < kc; k++) {
      for (int j = 0; j < NR_; j++) {
        long col = p * NR_ + j;
        dst[k * NR_ + j] = col < N ? B.at(k0 + k, col) : 0.f;
      }
    }
  }
}

// The register block, written with explicit 8-float vectors (GCC/Clang vector extensions): left to
// auto-vectorisation, plain fixed-size loops compiled to shuffles and spills. MR_ x NV vectors of
// accumulators stay in registers (at most 12 of the 16 AVX2 ones); each k step loads NV vectors of B
// and broadcasts MR_ values of A; each output element sums over k in order.

template <int MR_, int NV>
inline __attribute__((always_inline)) void microVec(int kc, const float* __restrict a, long ars, long acs, const float* __restrict b,
                                                    float* __restrict c, long ldc, int rows, int cols, bool load) {
  constexpr int NR_ = 8 * NV;
  // A is read in place (a broadcast needs no packing); rows past the edge re-read row 0, unstored.
  const float* arow[MR_];
  for (int r = 0; r < MR_; r++) arow[r] = a + (r < rows ? r : 0) * ars;
  // The first step initialises the accumulators (see microGather); kc >= 1 here.
  v8f acc[MR_][NV];
  {
    v8f bv[NV];
    for (int q = 0; q < NV; q++) std::memcpy(&bv[q], b + q * 8, sizeof(v8f));
    for (int r = 0; r < MR_; r++) {
      const float ar = arow[r][0];
      for (int q = 0; q < NV; q++) acc[r][q] = ar * bv[q];
    }
  }
  for (int k = 1; k < kc; k++) {
    v8f bv[NV];
    for (int q = 0; q < NV; q++) std::memcpy(&bv[q], b + k * NR_ + q * 8, sizeof(v8f));
    for (int r = 0; r < MR_; r++) {
      const float ar = arow[r][k * acs];
      for (int q = 0; q < NV; q++) acc[r][q] += ar * bv[q];
    }
  }
  for (int r = 0; r < rows; r++) {
    float* cr = c + r * ldc;
    if (cols == NR_) {
      for (int q = 0; q < NV; q++) {
        v8f out = acc[r][q];
        if (load) {
          v8f prev;
          std::memcpy(&prev, cr + q * 8, sizeof(v8f));
          out += prev;
        }
        std::memcpy(cr + q * 8, &out, sizeof(v8f));
      }
    } else {
      float tmp[NR_];
      std::memcpy(tmp, acc[r], sizeof(tmp));
      for (int j = 0; j < cols; j++) cr[j] = load ? cr[j] + tmp[j] : tmp[j];
    }
  }
}

// 6 x 16 blocks, or 8 x 8 for outputs of up to 8 channels (small students), so little of each
// vector is padding.
PB_CLONES void microNarrow(int kc, const float* a, long ars, long acs, const float* b, float* c, long ldc, int rows, int cols, bool load) {
  microVec<6, 2>(kc, a, ars, acs, b, c, ldc, rows, cols, load);
}
PB_CLONES void microEight(int kc, const float* a, long ars, long acs, const float* b, float* c, long ldc, int rows, int cols, bool load) {
  microVec<8, 1>(kc, a, ars, acs, b, c, ldc, rows, cols, load);
}

template <int MR_, int NR_>
void gemmBlocked(long M, long N, long K, const View& A, const View& B, float* C, long ldc, bool accumulate, std::vector<float>& scratch) {
  long panels = (N + NR_ - 1) / NR_;
  size_t need = (size_t)KC * NR_ * panels;
  if (scratch.size() < need) scratch.resize(need);
  float* bp = scratch.data();
  for (long k0 = 0; k0 < K; k0 += KC) {
    int kc = (int)std::min<long>(KC, K - k0);
    packB<NR_>(B, N, k0, kc, bp);
    bool load = accumulate || k0 > 0;
    for (long i0 = 0; i0 < M; i0 += MR_) {
      const float* ap = A.p + i0 * A.rs + k0 * A.cs;
      int rows = (int)std::min<long>(MR_, M - i0);
      for (long p = 0; p < panels; p++) {
        int cols = (int)std::min<long>(NR_, N - p * NR_);
        (NR_ == 16 ? microNarrow : microEight)(kc, ap, A.rs, A.cs, bp + p * kc * NR_, C + i0 * ldc + p * NR_, ldc, rows, cols, load);
      }
    }
  }
}

}  // namespace

// Single-threaded blocked GEMM over all of C. `scratch` grows as needed (one per thread).
void gemm(long M, long N, long K, const View& A, const View& B, float* C, long ldc, bool accumulate, std::vector<float>& scratch) {
  if (M <= 0 || N <= 0) return;
  if (K == 0) {
    if (!accumulate)
      for (long i = 0; i < M; i++) std::fill(C + i * ldc, C + i * ldc + N, 0.f);
    return;
  }
  if (N <= 8)
    gemmBlocked<8, 8>(M, N, K, A, B, C, ldc, accumulate, scratch);
  else
    gemmBlocked<6, 16>(M, N, K, A, B, C, ldc, accumulate, scratch);
}

thread_local std::vector<float> tlsGemm;

// Multithreaded GEMM: chunks of C's rows, or of its columns. Every row chunk packs all of B, so with
// few rows (a dense layer's batch) that packing would cost as much as the product: then columns are
// split, and each chunk packs only its own.
void gemmParallel(long M, long N, long K, View A, View B, float* C, long ldc, bool accumulate) {
  const long target = 4L * pool.size();
  if (M >= 32 * target || N <= NR) {
    long rows = std::max<long>(MR, ceilDiv(ceilDiv(M, target), MR) * MR);
    pool.parallelFor(ceilDiv(M, rows), [&](long i) {
      long b = i * rows, e = std::min(M, b + rows);
      gemm(e - b, N, K, View{A.p + b * A.rs, A.rs, A.cs}, B, C + b * ldc, ldc, accumulate, tlsGemm);
    });
  } else {
    long cols = std::max<long>(NR, ceilDiv(ceilDiv(N, target), NR) * NR);
    pool.parallelFor(ceilDiv(N, cols), [&](long i) {
      long b = i * cols, e = std::min(N, b + cols);
      gemm(M, e - b, K, A, View{B.p + b * B.cs, B.rs, B.cs}, C + b, ldc, accumulate, tlsGemm);
    });
  }
}

void epilogue(float* y, long rows, long co, const float* bias, int act) {
  for (long r = 0; r < rows; r++) {
    float* yr = y + r * co;
    if (bias)
      for (long j = 0; j < co; j++) yr[j] += bias[j];
    // NaN passes through the clamps, as through the unfused Relu/Relu6 kernels.
    if (act == RELU)
      for (long j = 0; j < co; j++) yr[j] = yr[j] < 0.f ? 0.f : yr[j];
    else if (act == RELU6)
      for (long j = 0; j < co; j++) yr[j] = yr[j] < 0.f ? 0.f : (yr[j] > 6.f ? 6.f : yr[j]);
  }
}


// Gather micro-kernel: element (r, k) of A is arow[r][koff[k]] (see gemm.h); V is the vector type
// (8 floats, or 16 in the AVX-512 twins), MR_ x NV vectors of accumulators.
template <typename V, int MR_, int NV>
inline __attribute__((always_inline)) void microGather(int kc, const float* const* arow, const long* __restrict koff, const float* __restrict b,
                                                       long bs, float* __restrict c, long ldc, int rows, int cols, bool load,
                                                       const float* bias, int act) {
  constexpr int L = sizeof(V) / sizeof(float);
  // The first step initialises the accumulators (zeroing them first compiled to a `rep stos` of a
  // stack copy that cost a third of the kernel); callers never pass kc = 0.
  V acc[MR_][NV];
  {
    V bv[NV];
    for (int q = 0; q < NV; q++) std::memcpy(&bv[q], b + q * L, sizeof(V));
    const long o = koff[0];
    for (int r = 0; r < MR_; r++) {
      const float ar = arow[r][o];
      for (int q = 0; q < NV; q++) acc[r][q] = ar * bv[q];
    }
  }
  for (int k = 1; k < kc; k++) {
    V bv[NV];
    for (int q = 0; q < NV; q++) std::memcpy(&bv[q], b + k * bs + q * L, sizeof(V));
    const long o = koff[k];
    for (int r = 0; r < MR_; r++) {
      const float ar = arow[r][o];
      for (int q = 0; q < NV; q++) acc[r][q] += ar * bv[q];
    }
  }
  if (cols == L * NV) {
    V bv[NV];
    for (int q = 0; q < NV; q++) bv[q] = V{};
    if (bias)
      for (int q = 0; q < NV; q++) std::memcpy(&bv[q], bias + q * L, sizeof(V));
    const V zero = V{}, six = zero + 6.f;
    for (int r = 0; r < rows; r++) {
      float* cr = c + r * ldc;
      for (int q = 0; q < NV; q++) {
        V v = acc[r][q] + bv[q];
        if (load) {
          V prev;
          std::memcpy(&prev, cr + q * L, sizeof(V));
          v += prev;
        }
        // Clamps written so NaN passes through, as the unfused Relu/Relu6 kernels do (a diverged
        // run must show a NaN loss, not train on zeros).
        if (act == 1) v = v < zero ? zero : v;
        else if (act == 2) v = v < zero ? zero : (v > six ? six : v);
        std::memcpy(cr + q * L, &v, sizeof(V));
      }
    }
    return;
  }
  for (int r = 0; r < rows; r++) {
    float out[L * NV];
    std::memcpy(out, acc[r], sizeof(out));
    float* cr = c + r * ldc;
    for (int j = 0; j < cols; j++) {
      float v = out[j];
      if (load) v += cr[j];
      if (bias) v += bias[j];
      if (act == 1) v = v < 0.f ? 0.f : v;  // NaN passes, as above
      else if (act == 2) v = v < 0.f ? 0.f : (v > 6.f ? 6.f : v);
      cr[j] = v;
    }
  }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
typedef float v16f __attribute__((vector_size(64)));

// The 16-float (AVX-512) twins of the gather kernels: microGather on v16f, so per element the same
// first product and the same fused multiply-adds in k order as the 8-float kernels (bit-identical).
__attribute__((target("arch=x86-64-v4"))) void gather12x16w(int kc, const float* const* arow, const long* koff, const float* b, long bs, float* c,
                                                          long ldc, int rows, int cols, bool load, const float* bias, int act) {
  microGather<v16f, 12, 1>(kc, arow, koff, b, bs, c, ldc, rows, cols, load, bias, act);
}
__attribute__((target("arch=x86-64-v4"))) void gather6x32w(int kc, const float* const* arow, const long* koff, const float* b, long bs, float* c,
                                                         long ldc, int rows, int cols, bool load, const float* bias, int act) {
  microGather<v16f, 6, 2>(kc, arow, koff, b, bs, c, ldc, rows, cols, load, bias, act);
}

static bool cpuHasAvx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw");
}
#else
void gather12x16w(int, const float* const*, const long*, const float*, long, float*, long, int, int, bool, const float*, int) {
  throw std::logic_error("the AVX-512 micro-kernel is not built for this architecture");
}
void gather6x32w(int, const float* const*, const long*, const float*, long, float*, long, int, int, bool, const float*, int) {
  throw std::logic_error("the AVX-512 micro-kernel is not built for this architecture");
}
static bool cpuHasAvx512() { return false; }
#endif

bool wideVectors = cpuHasAvx512();

bool setWideVectors(bool on) { return wideVectors = on && cpuHasAvx512(); }

PB_CLONES void gather12x8(int kc, const float* const* arow, const long* koff, const float* b, long bs, float* c, long ldc, int rows, int cols,
                          bool load, const float* bias, int act) {
  microGather<v8f, 12, 1>(kc, arow, koff, b, bs, c, ldc, rows, cols, load, bias, act);
}
PB_CLONES void gather6x16(int kc, const float* const* arow, const long* koff, const float* b, long bs, float* c, long ldc, int rows, int cols,
                          bool load, const float* bias, int act) {
  microGather<v8f, 6, 2>(kc, arow, koff, b, bs, c, ldc, rows, cols, load, bias, act);
}

}  // namespace pb
