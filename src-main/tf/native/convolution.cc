// Convolution (Conv2D and its input and filter gradients): pointwise ones as GEMMs, others as
// direct convolutions that feed the gather micro-kernel from the input through tap-offset tables.
#include <cstring>

#include "gemm.h"
#include "kernels.h"
#include "pool.h"

namespace pb {

thread_local std::vector<float> tlsCols;

namespace {

// Adds rows of a col matrix (one row per output pixel, K = FH*FW*Ci columns) back onto the image
// grid, for strided input gradients.
PB_CLONES void col2imAdd(const Conv& c, const float* cols, long p0, long rows, float* dx) {
  long K = c.K();
  for (long r = 0; r < rows; r++) {
    long p = p0 + r;
    long b = p / (c.OH * c.OW), rem = p % (c.OH * c.OW), oy = rem / c.OW, ox = rem % c.OW;
    const float* src = cols + r * K;
    forEachTap(c, b, oy, ox, [&](long in, long tap) {
      float* d = dx + in;
      const float* s = src + tap * c.Ci;
      if (c.Ci % 8 == 0) {
        for (long ch = 0; ch < c.Ci; ch += 8) {
          v8f dv, sv;
          std::memcpy(&dv, d + ch, sizeof(v8f));
          std::memcpy(&sv, s + ch, sizeof(v8f));
          dv += sv;
          std::memcpy(d + ch, &dv, sizeof(v8f));
        }
        return;
      }
      for (long ch = 0; ch < c.Ci; ch++) d[ch] += s[ch];
    });
  }
}

// Pointwise convolutions as packed GEMMs or as direct ones (in place, no packing): measured per
// MobileNetV2 224-px layer (bench/native-micro.ts --mnv2), the direct form wins once the product's
// inner dimension reaches 64 channels (forward: Ci, input gradient: Co; see conv2dBackpropInput for
// its other case), and for filter gradients wider than one vector (Co > 8; 8 → 48 at 112 px: 2.5x);
// the packed GEMM keeps the narrow ones.
constexpr long DIRECT_MIN_K = 64;

bool isPointwise(const Conv& c) { return c.FH == 1 && c.FW == 1 && c.SH == 1 && c.SW == 1 && c.PT == 0 && c.PL == 0; }

// Output pixels per chunk of a pointwise product: keeps a chunk's rows around 128 KiB.
long chunkRows(const Conv& c) { return std::max<long>(MR, std::min<long>(512, (32768 / std::max<long>(1, c.K())) / MR * MR)); }

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

// Output pixels per partial of a filter gradient, at least: each part writes a whole K x Co partial,
// so parts of a few pixels (7x7 layers at a small batch) spent their time storing and summing them.
constexpr long PART_PIXELS = 256;

// dw[K, Co] = sum over output pixels of x(pixel, tap) * dy[pixel, :], in fixed pixel ranges that each
// sum into their own partial (deterministic whatever thread runs them). With few pixels, tasks are
// (pixel range, block of K rows) pairs, so a gradient with a wide filter (a 7x7 layer) still splits
// between threads; each element's sum is over its range's pixels in order, however tasks are split.
void directConvFilter(const Conv& c, const float* x, const float* dy, float* dw) {
  Source s = paddedSource(x, c.B, c.H, c.W, c.Ci, c.PT, c.PL, neededRows(c.OH, c.SH, c.FH, c.DH), neededRows(c.OW, c.SW, c.FW, c.DW), tlsPadded);
  std::vector<long> koff = tapOffsets(c, s.Ws);
  long P = c.pixels(), K = c.K(), bs;
  const float* g = padColumns(dy, P, c.Co, tlsPaddedB, &bs);
  long parts = std::min(REDUCE_PARTS, ceilDiv(P, PART_PIXELS)), per = ceilDiv(P, parts);
  constexpr long KB = 48;  // rows per task: a multiple of both micro-kernel heights
  // Split K only when the pixels give fewer parts than a full set (row blocks re-read the pixels).
  const long kBlocks = parts < REDUCE_PARTS ? ceilDiv(K, KB) : 1, KBk = kBlocks == 1 ? K : KB;
  std::vector<std::vector<float>> partial(parts);
  for (auto& p : partial) p.assign(K * c.Co, 0.f);
  constexpr long CHUNK = 256;
  pool.parallelFor(parts * kBlocks, [&](long task) {
    const long part = task / kBlocks, r0 = task % kBlocks * KBk, rows = std::min(KBk, K - r0);
    long pix[CHUNK];
    long end = std::min(P, (part + 1) * per);
    PixelWalk walk(c, s.Hs, s.Ws, part * per);
    for (long p0 = part * per; p0 < end; p0 += CHUNK) {
      long n = std::min(CHUNK, end - p0);
      for (long i = 0; i < n; i++, walk.next()) pix[i] = walk.offset();
      gatherGemm(rows, c.Co, (int)n, pix, g + p0 * bs, bs, partial[part].data() + r0 * c.Co, c.Co, true, nullptr, LINEAR,
                 [&](long m0, int nr, int mr, const float** arow) {
                   for (int r = 0; r < mr; r++) arow[r] = s.p + koff[r0 + m0 + (r < nr ? r : 0)];
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

}  // namespace

// y[pixels, Co] = x * w[K, Co] (+ bias, activation) for a pointwise convolution (x is already the
// product's left matrix), in chunks of output pixels; any other one is a direct convolution.
void conv2d(const Conv& c, const float* x, const float* w, const float* bias, int act, float* y) {
  if (!isPointwise(c) || c.Ci >= DIRECT_MIN_K) return directConv(c, x, w, bias, act, y);
  long P = c.pixels(), K = c.K(), chunk = chunkRows(c);
  View Wv{w, c.Co, 1};
  pool.parallelFor(ceilDiv(P, chunk), [&](long i) {
    long p0 = i * chunk, rows = std::min(chunk, P - p0);
    gemm(rows, c.Co, K, View{x + p0 * K, K, 1}, Wv, y + p0 * c.Co, c.Co, false, tlsGemm);
    epilogue(y + p0 * c.Co, rows, c.Co, bias, act);
  });
}

// dx = col2im(dy[pixels, Co] * w^T), image by image (scatters never overlap), for strides the direct
// form does not cover. The product's columns are the K = FH*FW*Ci filter taps.
static void conv2dBackpropInputCols(const Conv& c, const float* dy, const float* w, float* dx) {
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
  // Packed GEMM for narrow products; direct once dx is at least two vectors wide over a 16-wide inner
  // dimension (AVX-512 block; 144 → 24 at 14 px: 104 → 74 µs) or the inner dimension is long.
  if (isPointwise(c) && c.Co < DIRECT_MIN_K && !(c.Ci >= 32 && c.Co >= 16)) {
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
  if (!isPointwise(c) || c.Co > 8) return directConvFilter(c, x, dy, dw);
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

}  // namespace pb
