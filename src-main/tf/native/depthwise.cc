// Depthwise convolution (filter [FH, FW, Ci, M], output channel ci*M + m) and its input and filter
// gradients. Loops keep channels innermost, where NHWC memory is contiguous, so they vectorise.
#include "kernels.h"
#include "gemm.h"
#include "pool.h"

namespace pb {

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

}  // namespace pb
