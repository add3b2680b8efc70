// Entry points of every kernel family, called by the N-API glue (napi.cc) after it has checked each
// buffer's length against the geometry. Inputs are read in place (Float32Array views of the wasm heap);
// outputs are written whole.
#pragma once

#include "common.h"

namespace pb {

// convolution.cc: y[B,OH,OW,Co] = conv(x[B,H,W,Ci], w[FH,FW,Ci,Co]) (+ bias[Co], activation).
void conv2d(const Conv& c, const float* x, const float* w, const float* bias, int act, float* y);
void conv2dBackpropInput(const Conv& c, const float* dy, const float* w, float* dx);
void conv2dBackpropFilter(const Conv& c, const float* x, const float* dy, float* dw);

// depthwise.cc: filter [FH,FW,Ci,M], output channel ci*M + m.
void depthwise(const Conv& c, long M, const float* x, const float* w, const float* bias, int act, float* y);
void depthwiseBackpropInput(const Conv& c, long M, const float* dy, const float* w, float* dx);
void depthwiseBackpropFilter(const Conv& c, long M, const float* x, const float* dy, float* dw);

// pooling.cc (geometry as a depthwise convolution with multiplier 1).
void maxPool(const Conv& c, const float* x, float* y);
void maxPoolGrad(const Conv& c, const float* dy, const float* x, float* dx);
void avgPool(const Conv& c, const float* x, float* y);
void avgPoolGrad(const Conv& c, const float* dy, float* dx);
// Zero padding of H and W (ZeroPadding2D / PadV2 with a constant).
void pad2d(const float* x, float* y, long B, long H, long W, long C, long top, long bottom, long left, long right, float value);

// y = x[b0:b0+s0, ..., b3:b3+s3] of x[d0, d1, d2, d3] (d, b, s: 4 numbers each).
void slice4d(const float* x, float* y, const long* d, const long* b, const long* s);

// Global average pooling: out[o, c] = mean over i of x[o, i, c], and its gradient dx = dy / inner.
void meanMiddle(const float* x, float* out, long outer, long inner, long C);
void meanMiddleGrad(const float* dy, float* dx, long outer, long inner, long C);

// normalization.cc, over the last axis of x[R, C].
void batchNorm(const float* x, const float* mean, const float* var, const float* gamma, const float* beta, float eps, float* y, long R, long C);
void batchNormTrain(const float* x, const float* gamma, const float* beta, float eps, float* y, float* mean, float* var, long R, long C);
void batchNormGrad(const float* dy, const float* x, const float* mean, const float* var, const float* gamma, float eps, float* dx, float* dgamma,
                   float* dbeta, long R, long C);

// elementwise.cc
// out[C] = sum over rows of x[R, C].
void sumRows(const float* x, long R, long C, float* out);
// out[R, C] = x[R, C] + bias[C].
void addBias(const float* x, const float* bias, float* out, long R, long C);
// out = a + b, same shapes.
void addSame(const float* a, const float* b, float* out, long n);
// y = clip(x, lo, hi); the ClipByValue and Relu6 gradients as tfjs computes them.
void clip(const float* x, float lo, float hi, float* y, long n);
void clipGrad(const float* dy, const float* x, float lo, float hi, float* dx, long n);
void relu6Grad(const float* dy, const float* x, float* dx, long n);

// optimizer.cc: Adam on one variable (m, v in place, new weights into wOut).
void adam(const float* w, const float* g, float* m, float* v, const float* c, float* wOut, long n);

}  // namespace pb
