// PocketBench native float32 kernels for the TensorFlow.js wasm backend (N-API, so one build serves
// Node and Electron). They read and write the wasm backend's tensor memory in place: every argument is
// a Float32Array view of the wasm heap, and every call is synchronous (the JS thread waits while the
// worker threads run), so no memory moves under us.
//
// Speed comes from three things: register-blocked GEMM micro-kernels (6x16, 8x8, 12x8 written with
// 8-float vector types; x86-64 builds carry x86-64-v4, AVX2+FMA and baseline clones chosen at load
// time, so one binary runs on any x86-64 CPU); convolutions that feed those micro-kernels straight
// from the input through tap-offset tables (no im2col copy); and a small persistent thread pool that
// splits each kernel over independent rows, images or partial sums (no two threads ever write the
// same float).
#include <node_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define PB_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define PB_CLONES
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// Thread pool. parallelFor(n, fn) calls fn(i) for every i in [0, n) exactly once, on whichever
// threads are free: chunks are claimed from an atomic counter, so a worker the OS has not scheduled
// (the machine is shared) never holds up the caller, which takes every chunk nobody else claimed.
// Results never depend on which thread ran a chunk: reductions keep one partial per fixed chunk
// range and add them in order, so training stays deterministic.
class Pool {
 public:
  void resize(int n) {
    std::lock_guard<std::mutex> serial(call_);
    stop();
    size_ = std::max(1, n);
    for (int i = 1; i < size_; i++) workers_.emplace_back([this] { loop(); });
  }
  int size() const { return size_; }
  // Serialised: one kernel at a time even if several Node threads (workers) call in.
  void parallelFor(long n, const std::function<void(long)>& fn) {
    std::lock_guard<std::mutex> serial(call_);
    if (size_ == 1 || n <= 1) {
      for (long i = 0; i < n; i++) fn(i);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &fn;
      n_ = n;
      next_.store(0);
      open_ = true;
      generation_++;
    }
    cv_.notify_all();
    drain(fn);
    // Workers still finishing a chunk usually end within microseconds: poll before sleeping.
    const auto until = std::chrono::steady_clock::now() + SPIN;
    for (int i = 0; active_.load(std::memory_order_acquire) > 0; i++) {
      if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) break;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    std::unique_lock<std::mutex> lock(mu_);
    open_ = false;
    done_.wait(lock, [this] { return active_ == 0; });
    job_ = nullptr;
  }
  // How long an idle worker polls for the next job before it sleeps: a training step calls kernels
  // a few tens of microseconds apart, and a sleeping thread takes longer than that to wake (a futex
  // round trip, more on a VM). Polling is bounded, so an idle app costs nothing.
  static constexpr auto SPIN = std::chrono::microseconds(200);
  ~Pool() { stop(); }

 private:
  void drain(const std::function<void(long)>& fn) {
    for (long i; (i = next_.fetch_add(1)) < n_;) fn(i);
  }
  void loop() {
    uint64_t seen = 0;
    for (;;) {
      const auto until = std::chrono::steady_clock::now() + SPIN;
      for (int i = 0; generation_.load(std::memory_order_acquire) == seen && !quit_.load(std::memory_order_relaxed); i++) {
        if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) break;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      const std::function<void(long)>* job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return quit_ || generation_ != seen; });
        if (quit_) return;
        seen = generation_;
        if (!open_) continue;
        job = job_;
        active_++;
      }
      drain(*job);
      std::lock_guard<std::mutex> lock(mu_);
      if (--active_ == 0) done_.notify_all();
    }
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    quit_ = false;
  }
  int size_ = 1;
  std::vector<std::thread> workers_;
  std::mutex mu_, call_;
  std::condition_variable cv_, done_;
  const std::function<void(long)>* job_ = nullptr;
  long n_ = 0;
  std::atomic<long> next_{0};
  bool open_ = false;
  std::atomic<int> active_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> quit_{false};
};

Pool pool;

inline long ceilDiv(long a, long b) { return (a + b - 1) / b; }

// Sums `parts` partial buffers of `size` floats into out, in part order (deterministic).
void sumPartials(const std::vector<std::vector<float>>& partial, long size, float* out) {
  std::fill(out, out + size, 0.f);
  for (const auto& p : partial)
    for (long i = 0; i < size; i++) out[i] += p[i];
}

// Fixed number of ranges for reductions: enough to balance 2-4 threads, independent of the thread count.
constexpr long REDUCE_PARTS = 8;

// ---------------------------------------------------------------------------------------------
// GEMM: C[M,N] (+)= A[M,K] * B[K,N], A and B given by element strides so transposes cost nothing.
struct View {
  const float* p;
  long rs, cs;  // element (i, j) is p[i*rs + j*cs]
  float at(long i, long j) const { return p[i * rs + j * cs]; }
};

// Row and column granularity for splitting work between threads and conv chunks: rows a multiple of
// both micro-kernel heights (6 and 8), columns of the 16-wide one.
constexpr int MR = 24;
constexpr int NR = 32;
constexpr int KC = 256;

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
typedef float v8f __attribute__((vector_size(32)));

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
thread_local std::vector<float> tlsCols;

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

// ---------------------------------------------------------------------------------------------
// Convolution geometry (NHWC input, HWIO filter), as computed by tfjs' computeConv2DInfo.
struct Conv {
  long B, H, W, Ci, OH, OW, Co, FH, FW, SH, SW, DH, DW, PT, PL;
  long K() const { return FH * FW * Ci; }
  long pixels() const { return B * OH * OW; }
};

// Adds rows of a col matrix (one row per output pixel, K = FH*FW*Ci columns) back onto the image
// grid, for strided input gradients.
PB_CLONES void col2imAdd(const Conv& c, const float* cols, long p0, long rows, float* dx) {
  long K = c.K();
  for (long r = 0; r < rows; r++) {
    long p = p0 + r;
    long b = p / (c.OH * c.OW), rem = p % (c.OH * c.OW), oy = rem / c.OW, ox = rem % c.OW;
    const float* src = cols + r * K;
    for (long i = 0; i < c.FH; i++) {
      long y = oy * c.SH + i * c.DH - c.PT;
      if (y < 0 || y >= c.H) continue;
      for (long j = 0; j < c.FW; j++) {
        long xx = ox * c.SW + j * c.DW - c.PL;
        if (xx < 0 || xx >= c.W) continue;
        float* d = dx + ((b * c.H + y) * c.W + xx) * c.Ci;
        const float* s = src + (i * c.FW + j) * c.Ci;
        if (c.Ci % 8 == 0) {
          for (long ch = 0; ch < c.Ci; ch += 8) {
            v8f dv, sv;
            std::memcpy(&dv, d + ch, sizeof(v8f));
            std::memcpy(&sv, s + ch, sizeof(v8f));
            dv += sv;
            std::memcpy(d + ch, &dv, sizeof(v8f));
          }
          continue;
        }
        for (long ch = 0; ch < c.Ci; ch++) d[ch] += s[ch];
      }
    }
  }
}

bool isPointwise(const Conv& c) { return c.FH == 1 && c.FW == 1 && c.SH == 1 && c.SW == 1 && c.PT == 0 && c.PL == 0; }

// Output pixels per chunk of a pointwise product: keeps a chunk's rows around 128 KiB.
long chunkRows(const Conv& c) { return std::max<long>(MR, std::min<long>(512, (32768 / std::max<long>(1, c.K())) / MR * MR)); }

enum Act { LINEAR = 0, RELU = 1, RELU6 = 2 };

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

// ---------------------------------------------------------------------------------------------
// Direct convolutions: the GEMM micro-kernel reads the input in place through offset tables instead
// of an im2col copy (which costs FH*FW copies of the input and dominated small-channel layers).
// Element (r, k) of A is arow[r][koff[k]]: for a forward convolution a row is an output pixel and
// koff[k] the input offset of filter tap k; for a filter gradient a row is a tap and koff[k] the input
// offset of output pixel k. B rows are `bs` floats apart, read as NV full vectors: callers pad B to a
// multiple of 8 columns when its width is not one. Zero padding is a padded copy of the input.
typedef int32_t v8i __attribute__((vector_size(32)));

template <int MR_, int NV>
inline __attribute__((always_inline)) void microGather(int kc, const float* const* arow, const long* __restrict koff, const float* __restrict b,
                                                       long bs, float* __restrict c, long ldc, int rows, int cols, bool load,
                                                       const float* bias, int act) {
  // The first step initialises the accumulators (zeroing them first compiled to a `rep stos` of a
  // stack copy that cost a third of the kernel); callers never pass kc = 0.
  v8f acc[MR_][NV];
  {
    v8f bv[NV];
    for (int q = 0; q < NV; q++) std::memcpy(&bv[q], b + q * 8, sizeof(v8f));
    const long o = koff[0];
    for (int r = 0; r < MR_; r++) {
      const float ar = arow[r][o];
      for (int q = 0; q < NV; q++) acc[r][q] = ar * bv[q];
    }
  }
  for (int k = 1; k < kc; k++) {
    v8f bv[NV];
    for (int q = 0; q < NV; q++) std::memcpy(&bv[q], b + k * bs + q * 8, sizeof(v8f));
    const long o = koff[k];
    for (int r = 0; r < MR_; r++) {
      const float ar = arow[r][o];
      for (int q = 0; q < NV; q++) acc[r][q] += ar * bv[q];
    }
  }
  if (cols == 8 * NV) {
    v8f bv[NV];
    for (int q = 0; q < NV; q++) bv[q] = v8f{};
    if (bias)
      for (int q = 0; q < NV; q++) std::memcpy(&bv[q], bias + q * 8, sizeof(v8f));
    const v8f zero = v8f{}, six = zero + 6.f;
    for (int r = 0; r < rows; r++) {
      float* cr = c + r * ldc;
      for (int q = 0; q < NV; q++) {
        v8f v = acc[r][q] + bv[q];
        if (load) {
          v8f prev;
          std::memcpy(&prev, cr + q * 8, sizeof(v8f));
          v += prev;
        }
        // Clamps written so NaN passes through, as the unfused Relu/Relu6 kernels do (a diverged
        // run must show a NaN loss, not train on zeros).
        if (act == 1) v = v < zero ? zero : v;
        else if (act == 2) v = v < zero ? zero : (v > six ? six : v);
        std::memcpy(cr + q * 8, &v, sizeof(v8f));
      }
    }
    return;
  }
  for (int r = 0; r < rows; r++) {
    float out[8 * NV];
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

PB_CLONES void gather12x8(int kc, const float* const* arow, const long* koff, const float* b, long bs, float* c, long ldc, int rows, int cols,
                          bool load, const float* bias, int act) {
  microGather<12, 1>(kc, arow, koff, b, bs, c, ldc, rows, cols, load, bias, act);
}
PB_CLONES void gather6x16(int kc, const float* const* arow, const long* koff, const float* b, long bs, float* c, long ldc, int rows, int cols,
                          bool load, const float* bias, int act) {
  microGather<6, 2>(kc, arow, koff, b, bs, c, ldc, rows, cols, load, bias, act);
}

// Rows of A per micro-kernel call for a column block of `width` floats (16 → 6 rows, 8 → 12 rows).
inline int gatherRows(long width) { return width >= 16 ? 6 : 12; }

// C[rows, cols] (+)= A * B in column blocks of 16 then 8; arow must hold gatherRows(16 or 8) pointers
// for every block, which callers provide by filling `arowFor(r0, n, arow)` per row block.
template <typename RowsFn>
void gatherGemm(long M, long N, int kc, const long* koff, const float* b, long bs, float* c, long ldc, bool load, const float* bias, int act,
                RowsFn&& rowsFor) {
  const float* arow[12];
  for (long n0 = 0, width; n0 < N; n0 += width) {
    width = N - n0 >= 16 ? 16 : 8;
    const int cols = (int)std::min<long>(width, N - n0);
    const int mr = gatherRows(width);
    for (long m0 = 0; m0 < M; m0 += mr) {
      const int rows = (int)std::min<long>(mr, M - m0);
      rowsFor(m0, rows, mr, arow);
      float* cp = c + m0 * ldc + n0;
      const float* bb = bias ? bias + n0 : nullptr;
      if (width == 16)
        gather6x16(kc, arow, koff, b + n0, bs, cp, ldc, rows, cols, load, bb, act);
      else
        gather12x8(kc, arow, koff, b + n0, bs, cp, ldc, rows, cols, load, bb, act);
    }
  }
}

// The input as a direct convolution reads it: output (b, oy, ox) has tap (0, 0) at
// ((b*Hs + oy*SH)*Ws + ox*SW)*Ci. Without padding that is x itself; otherwise a zero-padded copy.
struct Source {
  const float* p;
  long Hs, Ws;
};

// Scratch of the calling thread, kept between calls: a padded input is megabytes for a teacher layer,
// and a fresh allocation that size is a fresh mmap whose pages fault in on every call.
thread_local std::vector<float> tlsPadded, tlsPaddedB;

// Keeps the scratch for the next call unless it grew past 64 MiB (a one-off huge layer).
void trimScratch() {
  for (auto* v : {&tlsPadded, &tlsPaddedB})
    if (v->capacity() > (64u << 20) / sizeof(float)) std::vector<float>().swap(*v);
}

Source paddedSource(const float* x, long B, long H, long W, long C, long PT, long PL, long needH, long needW, std::vector<float>& buf) {
  if (PT == 0 && PL == 0 && needH <= H && needW <= W) return {x, H, W};
  long Hs = std::max(needH, H + PT), Ws = std::max(needW, W + PL);
  buf.resize((size_t)(B * Hs * Ws * C));
  pool.parallelFor(B, [&](long b) {
    float* img = buf.data() + b * Hs * Ws * C;
    // Zeros only where no input lands: whole rows above and below, columns left and right.
    std::fill(img, img + PT * Ws * C, 0.f);
    std::fill(img + (PT + H) * Ws * C, img + Hs * Ws * C, 0.f);
    for (long y = 0; y < H; y++) {
      float* row = img + (y + PT) * Ws * C;
      std::fill(row, row + PL * C, 0.f);
      std::memcpy(row + PL * C, x + (b * H + y) * W * C, W * C * sizeof(float));
      std::fill(row + (PL + W) * C, row + Ws * C, 0.f);
    }
  });
  return {buf.data(), Hs, Ws};
}

long neededRows(long out, long stride, long taps, long dilation) { return (out - 1) * stride + (taps - 1) * dilation + 1; }

// Input offsets of the FH*FW*Ci filter taps (HWI order, as HWIO filters store them).
std::vector<long> tapOffsets(const Conv& c, long Ws) {
  std::vector<long> off(c.K());
  for (long i = 0, k = 0; i < c.FH; i++)
    for (long j = 0; j < c.FW; j++)
      for (long ch = 0; ch < c.Ci; ch++) off[k++] = (i * c.DH * Ws + j * c.DW) * c.Ci + ch;
  return off;
}

// Walks output pixels in order, giving each one's tap-(0,0) input offset without divisions.
struct PixelWalk {
  const Conv& c;
  long Hs, Ws, b, oy, ox;
  PixelWalk(const Conv& cv, long hs, long ws, long p) : c(cv), Hs(hs), Ws(ws) {
    b = p / (c.OH * c.OW);
    long rem = p % (c.OH * c.OW);
    oy = rem / c.OW;
    ox = rem % c.OW;
  }
  long offset() const { return ((b * Hs + oy * c.SH) * Ws + ox * c.SW) * c.Ci; }
  void next() {
    if (++ox == c.OW) {
      ox = 0;
      if (++oy == c.OH) oy = 0, b++;
    }
  }
};

// B with columns padded to a multiple of 8 (zeros), or B itself when already a multiple.
const float* padColumns(const float* b, long rows, long cols, std::vector<float>& buf, long* stride) {
  long padded = (cols + 7) / 8 * 8;
  *stride = padded;
  if (padded == cols) return b;
  buf.assign((size_t)(rows * padded), 0.f);
  for (long r = 0; r < rows; r++) std::memcpy(buf.data() + r * padded, b + r * cols, cols * sizeof(float));
  return buf.data();
}

constexpr long DIRECT_PIXELS = 96;  // output pixels per task: a multiple of both row-block heights

// y[P, Co] = conv(x, w) (+ bias, activation), reading x through tap offsets.
void directConv(const Conv& c, const float* x, const float* w, const float* bias, int act, float* y) {
  std::vector<float> wBuf;
  Source s = paddedSource(x, c.B, c.H, c.W, c.Ci, c.PT, c.PL, neededRows(c.OH, c.SH, c.FH, c.DH), neededRows(c.OW, c.SW, c.FW, c.DW), tlsPadded);
  std::vector<long> koff = tapOffsets(c, s.Ws);
  long bs;
  const float* wb = padColumns(w, c.K(), c.Co, wBuf, &bs);
  long P = c.pixels();
  pool.parallelFor(ceilDiv(P, DIRECT_PIXELS), [&](long t) {
    long p0 = t * DIRECT_PIXELS, n = std::min(DIRECT_PIXELS, P - p0);
    long base[DIRECT_PIXELS];
    PixelWalk walk(c, s.Hs, s.Ws, p0);
    for (long i = 0; i < n; i++, walk.next()) base[i] = walk.offset();
    gatherGemm(n, c.Co, (int)c.K(), koff.data(), wb, bs, y + p0 * c.Co, c.Co, false, bias, act, [&](long m0, int rows, int mr, const float** arow) {
      for (int r = 0; r < mr; r++) arow[r] = s.p + base[m0 + (r < rows ? r : 0)];
    });
  });
  trimScratch();
}

// dw[K, Co] = sum over output pixels of x(pixel, tap) * dy[pixel, :], in fixed pixel ranges that each
// sum into their own partial (deterministic whatever thread runs them).
void directConvFilter(const Conv& c, const float* x, const float* dy, float* dw) {
  Source s = paddedSource(x, c.B, c.H, c.W, c.Ci, c.PT, c.PL, neededRows(c.OH, c.SH, c.FH, c.DH), neededRows(c.OW, c.SW, c.FW, c.DW), tlsPadded);
  std::vector<long> koff = tapOffsets(c, s.Ws);
  long P = c.pixels(), K = c.K(), bs;
  const float* g = padColumns(dy, P, c.Co, tlsPaddedB, &bs);
  long parts = std::min(REDUCE_PARTS, ceilDiv(P, 64)), per = ceilDiv(P, parts);
  std::vector<std::vector<float>> partial(parts);
  constexpr long CHUNK = 256;
  pool.parallelFor(parts, [&](long part) {
    partial[part].assign(K * c.Co, 0.f);
    long pix[CHUNK];
    long end = std::min(P, (part + 1) * per);
    PixelWalk walk(c, s.Hs, s.Ws, part * per);
    for (long p0 = part * per; p0 < end; p0 += CHUNK) {
      long n = std::min(CHUNK, end - p0);
      for (long i = 0; i < n; i++, walk.next()) pix[i] = walk.offset();
      gatherGemm(K, c.Co, (int)n, pix, g + p0 * bs, bs, partial[part].data(), c.Co, true, nullptr, LINEAR,
                 [&](long m0, int rows, int mr, const float** arow) {
                   for (int r = 0; r < mr; r++) arow[r] = s.p + koff[m0 + (r < rows ? r : 0)];
                 });
    }
  });
  sumPartials(partial, K * c.Co, dw);
  trimScratch();
}

// dx for stride 1: a direct convolution of dy, padded by (F-1)*D - pad, with the filter flipped in
// space and its in/out channels swapped. Returns false for strides it does not cover.
bool directConvInput(const Conv& c, const float* dy, const float* w, float* dx) {
  if (c.SH != 1 || c.SW != 1) return false;
  long PT = (c.FH - 1) * c.DH - c.PT, PL = (c.FW - 1) * c.DW - c.PL;
  if (PT < 0 || PL < 0) return false;
  Conv t{c.B, c.OH, c.OW, c.Co, c.H, c.W, c.Ci, c.FH, c.FW, 1, 1, c.DH, c.DW, PT, PL};
  std::vector<float> wt(t.K() * t.Co);
  for (long i = 0; i < c.FH; i++)
    for (long j = 0; j < c.FW; j++)
      for (long ci = 0; ci < c.Ci; ci++)
        for (long co = 0; co < c.Co; co++)
          wt[((i * c.FW + j) * c.Co + co) * c.Ci + ci] = w[(((c.FH - 1 - i) * c.FW + (c.FW - 1 - j)) * c.Ci + ci) * c.Co + co];
  directConv(t, dy, wt.data(), nullptr, LINEAR, dx);
  return true;
}

// y[pixels, Co] = x * w[K, Co] (+ bias, activation) for a pointwise convolution (x is already the
// product's left matrix), in chunks of output pixels; any other one is a direct convolution.
void conv2d(const Conv& c, const float* x, const float* w, const float* bias, int act, float* y) {
  if (!isPointwise(c)) return directConv(c, x, w, bias, act, y);
  long P = c.pixels(), K = c.K(), chunk = chunkRows(c);
  View Wv{w, c.Co, 1};
  pool.parallelFor(ceilDiv(P, chunk), [&](long i) {
    long p0 = i * chunk, rows = std::min(chunk, P - p0);
    gemm(rows, c.Co, K, View{x + p0 * K, K, 1}, Wv, y + p0 * c.Co, c.Co, false, tlsGemm);
    epilogue(y + p0 * c.Co, rows, c.Co, bias, act);
  });
}

// dx = col2im(dy[pixels, Co] * w^T); a chunk is one image, so scatters never overlap.
// dx = col2im(dy[pixels, Co] * w^T), image by image (scatters never overlap), for strides the direct
// form does not cover. The product's columns are the K = FH*FW*Ci filter taps.
void conv2dBackpropInputCols(const Conv& c, const float* dy, const float* w, float* dx) {
  long K = c.K(), perImage = c.OH * c.OW, imageSize = c.H * c.W * c.Ci, bs = (K + 7) / 8 * 8;
  std::vector<float> wt(c.Co * bs, 0.f);  // w^T, rows padded to whole vectors
  for (long k = 0; k < K; k++)
    for (long co = 0; co < c.Co; co++) wt[co * bs + k] = w[k * c.Co + co];
  std::vector<long> koff(c.Co);
  for (long co = 0; co < c.Co; co++) koff[co] = co;
  const long chunk = std::max<long>(12, (16384 / std::max<long>(1, K)) / 12 * 12);  // col rows of ~64 KiB
  pool.parallelFor(c.B, [&](long b) {
    std::fill(dx + b * imageSize, dx + (b + 1) * imageSize, 0.f);
    for (long p0 = b * perImage, e = (b + 1) * perImage; p0 < e; p0 += chunk) {
      long rows = std::min(chunk, e - p0);
      if (tlsCols.size() < (size_t)(rows * K)) tlsCols.resize(rows * K);
      gatherGemm(rows, K, (int)c.Co, koff.data(), wt.data(), bs, tlsCols.data(), K, false, nullptr, LINEAR,
                 [&](long m0, int n, int mr, const float** arow) {
                   for (int r = 0; r < mr; r++) arow[r] = dy + (p0 + m0 + (r < n ? r : 0)) * c.Co;
                 });
      col2imAdd(c, tlsCols.data(), p0, rows, dx);
    }
  });
}

void conv2dBackpropInput(const Conv& c, const float* dy, const float* w, float* dx) {
  if (isPointwise(c)) {
    long K = c.K(), perImage = c.OH * c.OW, imageSize = c.H * c.W * c.Ci;
    View Wt{w, 1, c.Co};
    pool.parallelFor(c.B, [&](long b) {
      gemm(perImage, K, c.Co, View{dy + b * perImage * c.Co, c.Co, 1}, Wt, dx + b * imageSize, K, false, tlsGemm);
    });
    return;
  }
  if (directConvInput(c, dy, w, dx)) return;  // stride 1: measured faster even for Ci = 8 (each col
  conv2dBackpropInputCols(c, dy, w, dx);        // element gets only Co MACs, so the scatter dominates)
}

// dw[K, Co] = x^T * dy for a pointwise convolution (any other one is direct): fixed pixel ranges
// each sum into their own partial.
void conv2dBackpropFilter(const Conv& c, const float* x, const float* dy, float* dw) {
  if (!isPointwise(c)) return directConvFilter(c, x, dy, dw);
  long P = c.pixels(), K = c.K(), chunk = chunkRows(c);
  long parts = std::min(REDUCE_PARTS, ceilDiv(P, chunk)), per = ceilDiv(P, parts);
  std::vector<std::vector<float>> partial(parts);
  pool.parallelFor(parts, [&](long part) {
    partial[part].assign(K * c.Co, 0.f);
    for (long p0 = part * per, e = std::min(P, p0 + per); p0 < e; p0 += chunk) {
      long rows = std::min(chunk, e - p0);
      gemm(K, c.Co, rows, View{x + p0 * K, 1, K}, View{dy + p0 * c.Co, c.Co, 1}, partial[part].data(), c.Co, true, tlsGemm);
    }
  });
  sumPartials(partial, K * c.Co, dw);
}

// ---------------------------------------------------------------------------------------------
// Depthwise convolution (filter [FH, FW, Ci, M], output channel ci*M + m). Loops keep channels
// innermost, where NHWC memory is contiguous, so they vectorise. forEachTap visits the filter taps
// of one output pixel that fall inside the input, with the input pixel's offset.
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

void depthwise(const Conv& c, long M, const float* x, const float* w, const float* bias, int act, float* y) {
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

// ---------------------------------------------------------------------------------------------
// Max pooling (geometry as a depthwise conv with multiplier 1). The gradient goes to the first
// maximum of each window in row-major order, as the cpu backend does.
// Fast paths for the usual pooling layer: every window inside the input (no padding) and channels a
// multiple of 8, processed as 8-float vectors. MaxPoolGrad additionally needs windows that tile the
// input without overlap (stride = window), so each input element gets at most one window's gradient
// and is written once, with no scatter.
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

// Element-wise, so chunks are independent; small tensors stay on the calling thread.
void adam(const float* w, const float* g, float* m, float* v, const float* c, float* wOut, long n) {
  const long CHUNK = 16384;
  if (n <= 2 * CHUNK) return adamRange(w, g, m, v, c, wOut, 0, n);
  pool.parallelFor(ceilDiv(n, CHUNK), [&](long part) { adamRange(w, g, m, v, c, wOut, part * CHUNK, std::min(n, (part + 1) * CHUNK)); });
}

// ---------------------------------------------------------------------------------------------
// N-API glue. Arguments are (Float32Array..., geometry numbers...). Errors become JS exceptions.
#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, nullptr, "pocketbench kernels: " #call); \
      return nullptr;                                                 \
    }                                                                 \
  } while (0)

struct Args {
  napi_env env;
  size_t argc = 24;
  napi_value argv[24];
  bool ok = true;
  Args(napi_env e, napi_callback_info info) : env(e) { ok = napi_get_cb_info(e, info, &argc, argv, nullptr, nullptr) == napi_ok; }
  // Float32Array (or null → nullptr).
  float* f32(size_t i, size_t* length = nullptr) {
    napi_valuetype t;
    if (i >= argc || napi_typeof(env, argv[i], &t) != napi_ok || t == napi_null || t == napi_undefined) return nullptr;
    napi_typedarray_type type;
    size_t len;
    void* data;
    napi_value buf;
    size_t off;
    if (napi_get_typedarray_info(env, argv[i], &type, &len, &data, &buf, &off) != napi_ok || type != napi_float32_array) {
      ok = false;
      return nullptr;
    }
    if (length) *length = len;
    return static_cast<float*>(data);
  }
  long num(size_t i) {
    int64_t v = 0;
    if (i >= argc || napi_get_value_int64(env, argv[i], &v) != napi_ok) ok = false;
    return (long)v;
  }
};

napi_value fail(napi_env env, const char* what) {
  napi_throw_type_error(env, nullptr, what);
  return nullptr;
}

// Geometry starts at argument `i`: B H W Ci OH OW Co FH FW SH SW DH DW PT PL (15 numbers).
Conv readConv(Args& a, size_t i) {
  Conv c;
  long* f[] = {&c.B, &c.H, &c.W, &c.Ci, &c.OH, &c.OW, &c.Co, &c.FH, &c.FW, &c.SH, &c.SW, &c.DH, &c.DW, &c.PT, &c.PL};
  for (size_t k = 0; k < 15; k++) *f[k] = a.num(i + k);
  return c;
}

// conv2d(x, w, bias|null, y, act, ...geometry)
napi_value Conv2D(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float *x = a.f32(0), *w = a.f32(1), *bias = a.f32(2), *y = a.f32(3);
  int act = (int)a.num(4);
  Conv c = readConv(a, 5);
  if (!a.ok || !x || !w || !y) return fail(env, "conv2d(x, w, bias, y, act, geometry): bad arguments");
  conv2d(c, x, w, bias, act, y);
  return nullptr;
}

// Gradient kernels: (a, b, out, [multiplier,] ...geometry) with out = fn(a, b). Depthwise ones take
// the channel multiplier before the geometry.
using GradFn = void (*)(const Conv&, long, const float*, const float*, float*);
void conv2dBackpropInputM(const Conv& c, long, const float* dy, const float* w, float* dx) { conv2dBackpropInput(c, dy, w, dx); }
void conv2dBackpropFilterM(const Conv& c, long, const float* x, const float* dy, float* dw) { conv2dBackpropFilter(c, x, dy, dw); }
void depthwiseBackpropInputM(const Conv& c, long m, const float* dy, const float* w, float* dx) { depthwiseBackpropInput(c, m, dy, w, dx); }
void depthwiseBackpropFilterM(const Conv& c, long m, const float* x, const float* dy, float* dw) { depthwiseBackpropFilter(c, m, x, dy, dw); }

template <GradFn fn, bool withMultiplier>
napi_value Grad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float *in0 = a.f32(0), *in1 = a.f32(1), *out = a.f32(2);
  long m = withMultiplier ? a.num(3) : 1;
  Conv c = readConv(a, withMultiplier ? 4 : 3);
  if (!a.ok || !in0 || !in1 || !out || m < 1) return fail(env, "gradient kernel (a, b, out, [multiplier], geometry): bad arguments");
  fn(c, m, in0, in1, out);
  return nullptr;
}

// depthwise(x, w, bias|null, y, act, multiplier, ...geometry)
napi_value Depthwise(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float *x = a.f32(0), *w = a.f32(1), *bias = a.f32(2), *y = a.f32(3);
  int act = (int)a.num(4);
  long m = a.num(5);
  Conv c = readConv(a, 6);
  if (!a.ok || !x || !w || !y || m < 1) return fail(env, "depthwise(x, w, bias, y, act, multiplier, geometry): bad arguments");
  depthwise(c, m, x, w, bias, act, y);
  return nullptr;
}

// matmul(a, b, bias|null, c, act, batch, M, N, K, transposeA, transposeB, aBatchStride, bBatchStride)
// c[batch][M,N] = op(a)[M,K] * op(b)[K,N] (+ bias[N], activation). A batch stride of 0 broadcasts.
napi_value MatMul(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float *A = a.f32(0), *B = a.f32(1), *bias = a.f32(2), *C = a.f32(3);
  int act = (int)a.num(4);
  long batch = a.num(5), M = a.num(6), N = a.num(7), K = a.num(8);
  bool ta = a.num(9) != 0, tb = a.num(10) != 0;
  long sa = a.num(11), sb = a.num(12);
  if (!a.ok || !A || !B || !C) return fail(env, "matmul(a, b, bias, c, act, batch, M, N, K, ta, tb, sa, sb): bad arguments");
  for (long i = 0; i < batch; i++) {
    View Av = ta ? View{A + i * sa, 1, M} : View{A + i * sa, K, 1};
    View Bv = tb ? View{B + i * sb, 1, K} : View{B + i * sb, N, 1};
    float* Ci = C + i * M * N;
    gemmParallel(M, N, K, Av, Bv, Ci, N, false);
    if (bias || act != LINEAR) epilogue(Ci, M, N, bias, act);
  }
  return nullptr;
}

// maxPool(x, y, ...geometry)
napi_value MaxPool(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float *x = a.f32(0), *y = a.f32(1);
  Conv c = readConv(a, 2);
  if (!a.ok || !x || !y) return fail(env, "maxPool(x, y, geometry): bad arguments");
  maxPool(c, x, y);
  return nullptr;
}

void maxPoolGradM(const Conv& c, long, const float* dy, const float* x, float* dx) { maxPoolGrad(c, dy, x, dx); }

// sumRows(x, out, R, C)
napi_value SumRows(napi_env env, napi_callback_info info) {
  Args a(env, info);
  float *x = a.f32(0), *out = a.f32(1);
  long R = a.num(2), C = a.num(3);
  if (!a.ok || !x || !out || R < 0 || C < 1) return fail(env, "sumRows(x, out, R, C): bad arguments");
  sumRows(x, R, C, out);
  return nullptr;
}

// addBias(x, bias, out, R, C)
napi_value AddBias(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t nx = 0, nb = 0, no = 0;
  float *x = a.f32(0, &nx), *bias = a.f32(1, &nb), *out = a.f32(2, &no);
  long R = a.num(3), C = a.num(4);
  if (!a.ok || !x || !bias || !out || R < 0 || C < 1 || nx != (size_t)(R * C) || no != nx || nb != (size_t)C) {
    return fail(env, "addBias(x, bias, out, R, C): x and out of R*C floats, bias of C");
  }
  addBias(x, bias, out, R, C);
  return nullptr;
}

// adam(w, g, m, v, constants[8], wOut): w, g, m, v, wOut of one length (wOut apart from the others);
// m and v are updated in place.
napi_value Adam(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t nw = 0, ng = 0, nm = 0, nv = 0, nc = 0, no = 0;
  float *w = a.f32(0, &nw), *g = a.f32(1, &ng), *m = a.f32(2, &nm), *v = a.f32(3, &nv), *c = a.f32(4, &nc), *wOut = a.f32(5, &no);
  if (!a.ok || !w || !g || !m || !v || !c || !wOut || nc != 8 || ng != nw || nm != nw || nv != nw || no != nw) {
    return fail(env, "adam(w, g, m, v, constants, wOut): five Float32Arrays of one length and 8 constants");
  }
  adam(w, g, m, v, c, wOut, (long)nw);
  return nullptr;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args a(env, info);
  long n = a.num(0);
  if (!a.ok || n < 1 || n > 64) return fail(env, "setThreads(n): n must be an integer from 1 to 64");
  pool.resize((int)n);
  napi_value out;
  CHECK(napi_create_int32(env, pool.size(), &out));
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"conv2d", nullptr, Conv2D, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Grad<conv2dBackpropInputM, false>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Grad<conv2dBackpropFilterM, false>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwise", nullptr, Depthwise, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwiseBackpropInput", nullptr, Grad<depthwiseBackpropInputM, true>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwiseBackpropFilter", nullptr, Grad<depthwiseBackpropFilterM, true>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool", nullptr, MaxPool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, Grad<maxPoolGradM, false>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sumRows", nullptr, SumRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmul", nullptr, MatMul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"addBias", nullptr, AddBias, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adam", nullptr, Adam, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return nullptr;
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
