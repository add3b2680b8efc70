// GEMM: C[M,N] (+)= A[M,K] * B[K,N], A and B given by element strides so transposes cost nothing,
// with register-blocked micro-kernels (6x16, 8x8, 12x8 of 8-float vectors). The "gather" variant reads
// A through offset tables, so convolutions feed it straight from the input (no im2col copy).
#pragma once

#include <vector>

#include "common.h"

namespace pb {

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

// Single-threaded blocked GEMM over all of C. `scratch` grows as needed (one per thread).
void gemm(long M, long N, long K, const View& A, const View& B, float* C, long ldc, bool accumulate, std::vector<float>& scratch);

// Multithreaded GEMM over chunks of C's rows or columns.
void gemmParallel(long M, long N, long K, View A, View B, float* C, long ldc, bool accumulate);

// y[rows, co] += bias, then the activation (NaN passes through the clamps, as through Relu/Relu6).
void epilogue(float* y, long rows, long co, const float* bias, int act);

// Per-thread packing scratch of gemm().
extern thread_local std::vector<float> tlsGemm;

// Direct convolutions: the GEMM micro-kernel reads the input in place through offset tables instead
// of an im2col copy (which costs FH*FW copies of the input and dominated small-channel layers).
// Element (r, k) of A is arow[r][koff[k]]: for a forward convolution a row is an output pixel and
// koff[k] the input offset of filter tap k; for a filter gradient a row is a tap and koff[k] the input
// offset of output pixel k. B rows are `bs` floats apart, read as NV full vectors: callers pad B to a
// multiple of 8 columns when its width is not one. Zero padding is a padded copy of the input.
void gather12x8(int kc, const float* const* arow, const long* koff, const float* b, long bs, float* c, long ldc, int rows, int cols,
                bool load, const float* bias, int act);
void gather6x16(int kc, const float* const* arow, const long* koff, const float* b, long bs, float* c, long ldc, int rows, int cols,
                bool load, const float* bias, int act);

// 16-float (AVX-512) micro-kernel for 16-wide column blocks: 12 rows x one 16-float vector, the same
// products summed in the same order as gather6x16 (bit-identical results), about twice the FMA width.
// Chosen at load time when the CPU and OS support AVX-512 (setWideVectors turns it off for tests).
void gather12x16w(int kc, const float* const* arow, const long* koff, const float* b, long bs, float* c, long ldc, int rows, int cols,
                  bool load, const float* bias, int act);
// And 6 rows x two 16-float vectors for 32-wide column blocks (fewer loads per FMA than 12 x 16).
void gather6x32w(int kc, const float* const* arow, const long* koff, const float* b, long bs, float* c, long ldc, int rows, int cols,
                 bool load, const float* bias, int act);
extern bool wideVectors;
// Turns the AVX-512 micro-kernel on (when the CPU has it) or off; returns whether it is now in use.
bool setWideVectors(bool on);

// Rows of A per micro-kernel call for a column block of `width` floats (32 → 6 rows with AVX-512;
// 16 → 6 rows, or 12 with AVX-512; 8 → 12 rows).
inline int gatherRows(long width) { return width >= 32 || (width >= 16 && !wideVectors) ? 6 : 12; }

// C[rows, cols] (+)= A * B in column blocks of 32 (AVX-512), 16 then 8; arow must hold gatherRows(width) pointers
// for every block, which callers provide by filling `arowFor(r0, n, arow)` per row block.
template <typename RowsFn>
void gatherGemm(long M, long N, int kc, const long* koff, const float* b, long bs, float* c, long ldc, bool load, const float* bias, int act,
                RowsFn&& rowsFor) {
  const float* arow[12];
  for (long n0 = 0, width; n0 < N; n0 += width) {
    width = wideVectors && N - n0 >= 32 ? 32 : N - n0 >= 16 ? 16 : 8;
    const int cols = (int)std::min<long>(width, N - n0);
    const int mr = gatherRows(width);
    for (long m0 = 0; m0 < M; m0 += mr) {
      const int rows = (int)std::min<long>(mr, M - m0);
      rowsFor(m0, rows, mr, arow);
      float* cp = c + m0 * ldc + n0;
      const float* bb = bias ? bias + n0 : nullptr;
      if (width == 32)
        gather6x32w(kc, arow, koff, b + n0, bs, cp, ldc, rows, cols, load, bb, act);
      else if (width == 16)
        (wideVectors ? gather12x16w : gather6x16)(kc, arow, koff, b + n0, bs, cp, ldc, rows, cols, load, bb, act);
      else
        gather12x8(kc, arow, koff, b + n0, bs, cp, ldc, rows, cols, load, bb, act);
    }
  }
}

}  // namespace pb
