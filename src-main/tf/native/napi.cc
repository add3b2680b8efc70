// N-API glue: every entry point reads its arguments (Float32Array..., geometry numbers...), checks
// each buffer's length against the geometry it is given, and only then calls the kernel. A bad call
// throws a JavaScript error (RangeError for a length or a geometry, TypeError for a wrong argument)
// and writes nothing; a C++ exception inside a kernel, on any pool thread, is rethrown here as an Error.
#include <node_api.h>

#include <stdexcept>
#include <string>

#include "gemm.h"
#include "kernels.h"
#include "pool.h"

namespace pb {
namespace {

// A bad argument: its message becomes the JavaScript error's.
struct ArgError : std::runtime_error {
  bool typeError;
  ArgError(const std::string& what, bool type = false) : std::runtime_error(what), typeError(type) {}
};

// Largest element count accepted: far above any wasm heap (4 GiB of floats), far below overflow.
constexpr long LIMIT = 1L << 40;

long mul(std::initializer_list<long> dims) {
  long n = 1;
  for (long d : dims) {
    if (d < 0 || (d > 0 && n > LIMIT / d)) throw ArgError("geometry out of range (negative or too large a dimension)");
    n *= d;
  }
  return n;
}

struct Args {
  napi_env env;
  const char* sig;  // the call's signature, for messages
  size_t argc = 24;
  napi_value argv[24];
  Args(napi_env e, napi_callback_info info, const char* signature) : env(e), sig(signature) {
    if (napi_get_cb_info(e, info, &argc, argv, nullptr, nullptr) != napi_ok) throw ArgError(std::string(sig) + ": cannot read the arguments", true);
  }
  [[noreturn]] void bad(const std::string& what, bool type = false) const { throw ArgError(std::string(sig) + ": " + what, type); }
  // A Float32Array (or null / undefined when `optional`) of exactly `expected` floats.
  float* f32(size_t i, const char* name, long expected, bool optional = false) const {
    napi_valuetype t = napi_undefined;
    if (i < argc && napi_typeof(env, argv[i], &t) != napi_ok) bad(std::string("cannot read ") + name, true);
    if (i >= argc || t == napi_null || t == napi_undefined) {
      if (optional) return nullptr;
      bad(std::string(name) + " is missing", true);
    }
    napi_typedarray_type type;
    size_t len;
    void* data;
    napi_value buf;
    size_t off;
    if (napi_get_typedarray_info(env, argv[i], &type, &len, &data, &buf, &off) != napi_ok || type != napi_float32_array) {
      bad(std::string(name) + " must be a Float32Array", true);
    }
    if ((long)len != expected) {
      bad(std::string(name) + " has " + std::to_string(len) + " floats; the geometry needs " + std::to_string(expected));
    }
    return static_cast<float*>(data);
  }
  double dbl(size_t i, const char* name) const {
    double v = 0;
    if (i >= argc || napi_get_value_double(env, argv[i], &v) != napi_ok) bad(std::string(name) + " must be a number", true);
    return v;
  }
  // The length of the Float32Array at i, which sets the size of an element-wise call.
  long length(size_t i, const char* name) const {
    napi_typedarray_type type;
    size_t len = 0;
    if (i >= argc || napi_get_typedarray_info(env, argv[i], &type, &len, nullptr, nullptr, nullptr) != napi_ok || type != napi_float32_array) {
      bad(std::string(name) + " must be a Float32Array", true);
    }
    return (long)len;
  }
  long num(size_t i, const char* name) const {
    int64_t v = 0;
    if (i >= argc || napi_get_value_int64(env, argv[i], &v) != napi_ok) bad(std::string(name) + " must be a number", true);
    return (long)v;
  }
};

// Geometry starting at argument `i`: B H W Ci OH OW Co FH FW SH SW DH DW PT PL (15 numbers), every size
// and step at least 1 (B may be 0), pads at least 0.
Conv readConv(const Args& a, size_t i) {
  static const char* names[] = {"B", "H", "W", "Ci", "OH", "OW", "Co", "FH", "FW", "SH", "SW", "DH", "DW", "padTop", "padLeft"};
  Conv c;
  long* f[] = {&c.B, &c.H, &c.W, &c.Ci, &c.OH, &c.OW, &c.Co, &c.FH, &c.FW, &c.SH, &c.SW, &c.DH, &c.DW, &c.PT, &c.PL};
  for (size_t k = 0; k < 15; k++) {
    *f[k] = a.num(i + k, names[k]);
    const long min = k == 0 || k >= 13 ? 0 : 1;
    if (*f[k] < min || *f[k] > LIMIT) a.bad(std::string("geometry ") + names[k] + " = " + std::to_string(*f[k]) + " is out of range");
  }
  mul({c.B, c.H, c.W, c.Ci});
  mul({c.B, c.OH, c.OW, c.Co});
  return c;
}

long inSize(const Conv& c) { return mul({c.B, c.H, c.W, c.Ci}); }
long outSize(const Conv& c) { return mul({c.B, c.OH, c.OW, c.Co}); }

// Runs `body`, turning any exception into a pending JavaScript exception.
template <typename F>
napi_value guarded(napi_env env, F&& body) {
  try {
    return body();
  } catch (const ArgError& e) {
    if (e.typeError) napi_throw_type_error(env, "PB_NATIVE_ARGS", e.what());
    else napi_throw_range_error(env, "PB_NATIVE_ARGS", e.what());
  } catch (const std::bad_alloc&) {
    napi_throw_error(env, "PB_NATIVE_MEMORY", "pocketbench kernels: out of memory for a kernel's scratch buffers");
  } catch (const std::exception& e) {
    napi_throw_error(env, "PB_NATIVE_KERNEL", (std::string("pocketbench kernels: ") + e.what()).c_str());
  } catch (...) {
    napi_throw_error(env, "PB_NATIVE_KERNEL", "pocketbench kernels: unknown failure inside a kernel");
  }
  return nullptr;
}

#define ENTRY(NAME, SIG, ...)                                    \
  napi_value NAME(napi_env env, napi_callback_info info) {       \
    return guarded(env, [&]() -> napi_value {                    \
      Args a(env, info, SIG);                                    \
      __VA_ARGS__                                                \
      return nullptr;                                            \
    });                                                          \
  }

// Convolution: the filter is [FH, FW, Ci, Co].
ENTRY(Conv2D, "conv2d(x, w, bias, y, act, ...geometry)", {
  Conv c = readConv(a, 5);
  float *x = a.f32(0, "x", inSize(c)), *w = a.f32(1, "w", mul({c.FH, c.FW, c.Ci, c.Co})), *bias = a.f32(2, "bias", c.Co, true),
        *y = a.f32(3, "y", outSize(c));
  long act = a.num(4, "act");
  if (act < LINEAR || act > RELU6) a.bad("act must be 0 (linear), 1 (relu) or 2 (relu6)");
  conv2d(c, x, w, bias, (int)act, y);
})
ENTRY(Conv2DBackpropInput, "conv2dBackpropInput(dy, w, dx, ...geometry)", {
  Conv c = readConv(a, 3);
  conv2dBackpropInput(c, a.f32(0, "dy", outSize(c)), a.f32(1, "w", mul({c.FH, c.FW, c.Ci, c.Co})), a.f32(2, "dx", inSize(c)));
})
ENTRY(Conv2DBackpropFilter, "conv2dBackpropFilter(x, dy, dw, ...geometry)", {
  Conv c = readConv(a, 3);
  conv2dBackpropFilter(c, a.f32(0, "x", inSize(c)), a.f32(1, "dy", outSize(c)), a.f32(2, "dw", mul({c.FH, c.FW, c.Ci, c.Co})));
})

// Depthwise: the filter is [FH, FW, Ci, M] and Co must be Ci * M.
long multiplier(const Args& a, size_t i, const Conv& c) {
  long m = a.num(i, "multiplier");
  if (m < 1 || c.Co != c.Ci * m) a.bad("the channel multiplier must be at least 1 and Co must equal Ci * multiplier");
  return m;
}
ENTRY(Depthwise, "depthwise(x, w, bias, y, act, multiplier, ...geometry)", {
  Conv c = readConv(a, 6);
  long m = multiplier(a, 5, c);
  float *x = a.f32(0, "x", inSize(c)), *w = a.f32(1, "w", mul({c.FH, c.FW, c.Co})), *bias = a.f32(2, "bias", c.Co, true),
        *y = a.f32(3, "y", outSize(c));
  long act = a.num(4, "act");
  if (act < LINEAR || act > RELU6) a.bad("act must be 0 (linear), 1 (relu) or 2 (relu6)");
  depthwise(c, m, x, w, bias, (int)act, y);
})
ENTRY(DepthwiseBackpropInput, "depthwiseBackpropInput(dy, w, dx, multiplier, ...geometry)", {
  Conv c = readConv(a, 4);
  long m = multiplier(a, 3, c);
  depthwiseBackpropInput(c, m, a.f32(0, "dy", outSize(c)), a.f32(1, "w", mul({c.FH, c.FW, c.Co})), a.f32(2, "dx", inSize(c)));
})
ENTRY(DepthwiseBackpropFilter, "depthwiseBackpropFilter(x, dy, dw, multiplier, ...geometry)", {
  Conv c = readConv(a, 4);
  long m = multiplier(a, 3, c);
  depthwiseBackpropFilter(c, m, a.f32(0, "x", inSize(c)), a.f32(1, "dy", outSize(c)), a.f32(2, "dw", mul({c.FH, c.FW, c.Co})));
})

// matmul(a, b, bias, c, act, batch, M, N, K, transposeA, transposeB, aBatchStride, bBatchStride):
// c[batch][M,N] = op(a)[M,K] * op(b)[K,N] (+ bias[N], activation). A batch stride of 0 broadcasts.
ENTRY(MatMul, "matmul(a, b, bias, c, act, batch, M, N, K, ta, tb, aBatchStride, bBatchStride)", {
  long batch = a.num(5, "batch"), M = a.num(6, "M"), N = a.num(7, "N"), K = a.num(8, "K");
  bool ta = a.num(9, "ta") != 0, tb = a.num(10, "tb") != 0;
  long sa = a.num(11, "aBatchStride"), sb = a.num(12, "bBatchStride");
  if (batch < 0 || M < 0 || N < 0 || K < 0) a.bad("negative size");
  if ((sa != 0 && sa != M * K) || (sb != 0 && sb != K * N)) a.bad("a batch stride must be 0 (broadcast) or the matrix size");
  float* A = a.f32(0, "a", sa ? mul({batch, M, K}) : mul({M, K}));
  float* B = a.f32(1, "b", sb ? mul({batch, K, N}) : mul({K, N}));
  float* bias = a.f32(2, "bias", N, true);
  float* C = a.f32(3, "c", mul({batch, M, N}));
  long act = a.num(4, "act");
  if (act < LINEAR || act > RELU6) a.bad("act must be 0 (linear), 1 (relu) or 2 (relu6)");
  for (long i = 0; i < batch; i++) {
    View Av = ta ? View{A + i * sa, 1, M} : View{A + i * sa, K, 1};
    View Bv = tb ? View{B + i * sb, 1, K} : View{B + i * sb, N, 1};
    float* Ci = C + i * M * N;
    gemmParallel(M, N, K, Av, Bv, Ci, N, false);
    if (bias || act != LINEAR) epilogue(Ci, M, N, bias, (int)act);
  }
})

// Pooling: geometry as a depthwise convolution with multiplier 1 (Co = Ci).
Conv poolGeometry(const Args& a, size_t i) {
  Conv c = readConv(a, i);
  if (c.Co != c.Ci) a.bad("pooling keeps the channels: Co must equal Ci");
  return c;
}
ENTRY(MaxPool, "maxPool(x, y, ...geometry)", {
  Conv c = poolGeometry(a, 2);
  maxPool(c, a.f32(0, "x", inSize(c)), a.f32(1, "y", outSize(c)));
})
ENTRY(MaxPoolGrad, "maxPoolGrad(dy, x, dx, ...geometry)", {
  Conv c = poolGeometry(a, 3);
  maxPoolGrad(c, a.f32(0, "dy", outSize(c)), a.f32(1, "x", inSize(c)), a.f32(2, "dx", inSize(c)));
})

ENTRY(AvgPool, "avgPool(x, y, ...geometry)", {
  Conv c = poolGeometry(a, 2);
  avgPool(c, a.f32(0, "x", inSize(c)), a.f32(1, "y", outSize(c)));
})
ENTRY(AvgPoolGrad, "avgPoolGrad(dy, dx, ...geometry)", {
  Conv c = poolGeometry(a, 2);
  avgPoolGrad(c, a.f32(0, "dy", outSize(c)), a.f32(1, "dx", inSize(c)));
})
ENTRY(Pad2D, "pad2d(x, y, B, H, W, C, top, bottom, left, right, value)", {
  long d[8];
  static const char* names[] = {"B", "H", "W", "C", "top", "bottom", "left", "right"};
  for (int i = 0; i < 8; i++) {
    d[i] = a.num(2 + i, names[i]);
    if (d[i] < 0 || d[i] > LIMIT) a.bad(std::string(names[i]) + " is out of range");
  }
  const long OH = d[1] + d[4] + d[5], OW = d[2] + d[6] + d[7];
  pad2d(a.f32(0, "x", mul({d[0], d[1], d[2], d[3]})), a.f32(1, "y", mul({d[0], OH, OW, d[3]})), d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7],
        (float)a.dbl(10, "value"));
})

ENTRY(Slice4D, "slice4d(x, y, d0, d1, d2, d3, begin0, begin1, begin2, begin3, size0, size1, size2, size3)", {
  long d[4], b[4], s[4];
  for (int i = 0; i < 4; i++) {
    d[i] = a.num(2 + i, "dimension"), b[i] = a.num(6 + i, "begin"), s[i] = a.num(10 + i, "size");
    if (d[i] < 0 || d[i] > LIMIT || b[i] < 0 || s[i] < 0 || b[i] > d[i] || s[i] > d[i] - b[i])
      a.bad("axis " + std::to_string(i) + ": begin " + std::to_string(b[i]) + " + size " + std::to_string(s[i]) + " is outside the dimension " + std::to_string(d[i]));
  }
  const float* x = a.f32(0, "x", mul({d[0], d[1], d[2], d[3]}));
  float* y = a.f32(1, "y", mul({s[0], s[1], s[2], s[3]}));
  slice4d(x, y, d, b, s);
})

// Element-wise.
ENTRY(SumRows, "sumRows(x, out, R, C)", {
  long R = a.num(2, "R"), C = a.num(3, "C");
  if (R < 0 || C < 1) a.bad("R must be at least 0 and C at least 1");
  sumRows(a.f32(0, "x", mul({R, C})), R, C, a.f32(1, "out", C));
})
ENTRY(AddBias, "addBias(x, bias, out, R, C)", {
  long R = a.num(3, "R"), C = a.num(4, "C");
  if (R < 0 || C < 1) a.bad("R must be at least 0 and C at least 1");
  addBias(a.f32(0, "x", mul({R, C})), a.f32(1, "bias", C), a.f32(2, "out", mul({R, C})), R, C);
})

// Optimizer: adam(w, g, m, v, constants[8], wOut), all but the constants of one length.
ENTRY(Adam, "adam(w, g, m, v, constants, wOut)", {
  long n = a.length(0, "w");
  float *w = a.f32(0, "w", n), *g = a.f32(1, "g", n), *m = a.f32(2, "m", n), *v = a.f32(3, "v", n), *c = a.f32(4, "constants", 8),
        *wOut = a.f32(5, "wOut", n);
  adam(w, g, m, v, c, wOut, n);
})

// Same-shape and element-wise kernels: sizes come from the first array.
ENTRY(AddSame, "addSame(a, b, out)", {
  long n = a.length(0, "a");
  addSame(a.f32(0, "a", n), a.f32(1, "b", n), a.f32(2, "out", n), n);
})
ENTRY(Clip, "clip(x, y, lo, hi)", {
  long n = a.length(0, "x");
  clip(a.f32(0, "x", n), (float)a.dbl(2, "lo"), (float)a.dbl(3, "hi"), a.f32(1, "y", n), n);
})
ENTRY(ClipGrad, "clipGrad(dy, x, dx, lo, hi)", {
  long n = a.length(0, "dy");
  clipGrad(a.f32(0, "dy", n), a.f32(1, "x", n), (float)a.dbl(3, "lo"), (float)a.dbl(4, "hi"), a.f32(2, "dx", n), n);
})
ENTRY(Relu6Grad, "relu6Grad(dy, x, dx)", {
  long n = a.length(0, "dy");
  relu6Grad(a.f32(0, "dy", n), a.f32(1, "x", n), a.f32(2, "dx", n), n);
})

// Global average pooling over the middle axis of [outer, inner, C].
void middleDims(const Args& a, size_t i, long* outer, long* inner, long* C) {
  *outer = a.num(i, "outer"), *inner = a.num(i + 1, "inner"), *C = a.num(i + 2, "C");
  if (*outer < 0 || *inner < 1 || *C < 1) a.bad("outer must be at least 0, inner and C at least 1");
}
ENTRY(MeanMiddle, "meanMiddle(x, out, outer, inner, C)", {
  long outer, inner, C;
  middleDims(a, 2, &outer, &inner, &C);
  meanMiddle(a.f32(0, "x", mul({outer, inner, C})), a.f32(1, "out", mul({outer, C})), outer, inner, C);
})
ENTRY(MeanMiddleGrad, "meanMiddleGrad(dy, dx, outer, inner, C)", {
  long outer, inner, C;
  middleDims(a, 2, &outer, &inner, &C);
  meanMiddleGrad(a.f32(0, "dy", mul({outer, C})), a.f32(1, "dx", mul({outer, inner, C})), outer, inner, C);
})

// Batch normalization over the last axis of x[R, C]; gamma and beta may be null (1 and 0).
void rowsCols(const Args& a, size_t i, long* R, long* C, float* eps) {
  *R = a.num(i, "R"), *C = a.num(i + 1, "C");
  double e = a.dbl(i + 2, "epsilon");
  if (*R < 1 || *C < 1) a.bad("R and C must be at least 1");
  if (!(e >= 0)) a.bad("epsilon must be a number >= 0");
  *eps = (float)e;
}
ENTRY(BatchNorm, "batchNorm(x, mean, variance, gamma, beta, y, R, C, epsilon)", {
  long R, C;
  float eps;
  rowsCols(a, 6, &R, &C, &eps);
  float *x = a.f32(0, "x", mul({R, C})), *mean = a.f32(1, "mean", C), *var = a.f32(2, "variance", C), *gamma = a.f32(3, "gamma", C, true),
        *beta = a.f32(4, "beta", C, true), *y = a.f32(5, "y", mul({R, C}));
  batchNorm(x, mean, var, gamma, beta, eps, y, R, C);
})
ENTRY(BatchNormTrain, "batchNormTrain(x, gamma, beta, y, mean, variance, R, C, epsilon)", {
  long R, C;
  float eps;
  rowsCols(a, 6, &R, &C, &eps);
  float *x = a.f32(0, "x", mul({R, C})), *gamma = a.f32(1, "gamma", C, true), *beta = a.f32(2, "beta", C, true), *y = a.f32(3, "y", mul({R, C})),
        *mean = a.f32(4, "mean", C), *var = a.f32(5, "variance", C);
  batchNormTrain(x, gamma, beta, eps, y, mean, var, R, C);
})
ENTRY(BatchNormGrad, "batchNormGrad(dy, x, mean, variance, gamma, dx, dgamma, dbeta, R, C, epsilon)", {
  long R, C;
  float eps;
  rowsCols(a, 8, &R, &C, &eps);
  float *dy = a.f32(0, "dy", mul({R, C})), *x = a.f32(1, "x", mul({R, C})), *mean = a.f32(2, "mean", C), *var = a.f32(3, "variance", C),
        *gamma = a.f32(4, "gamma", C, true), *dx = a.f32(5, "dx", mul({R, C})), *dgamma = a.f32(6, "dgamma", C), *dbeta = a.f32(7, "dbeta", C);
  batchNormGrad(dy, x, mean, var, gamma, eps, dx, dgamma, dbeta, R, C);
})

ENTRY(SetThreads, "setThreads(n)", {
  long n = a.num(0, "n");
  if (n < 1 || n > 256) a.bad("n must be an integer from 1 to 256");
  pool.resize((int)n);
  napi_value out;
  if (napi_create_int32(env, pool.size(), &out) != napi_ok) throw std::runtime_error("cannot return the thread count");
  return out;
})

// Test hook: the AVX-512 micro-kernel on or off (results must not change); returns whether it is in use.
ENTRY(SetWideVectors, "setWideVectors(on)", {
  bool on = false;
  if (a.argc < 1 || napi_get_value_bool(env, a.argv[0], &on) != napi_ok) a.bad("on must be a boolean", true);
  napi_value out;
  napi_get_boolean(env, setWideVectors(on), &out);
  return out;
})

// Test hook: a pool job of n chunks whose chunk `failAt` throws; the error must reach JavaScript.
ENTRY(FailInPool, "failInPool(n, failAt)", {
  long n = a.num(0, "n"), failAt = a.num(1, "failAt");
  pool.parallelFor(n, [&](long i) {
    if (i == failAt) throw std::runtime_error("deliberate failure in chunk " + std::to_string(i) + " (failInPool test hook)");
  });
})

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"conv2d", nullptr, Conv2D, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2DBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2DBackpropFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwise", nullptr, Depthwise, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwiseBackpropInput", nullptr, DepthwiseBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwiseBackpropFilter", nullptr, DepthwiseBackpropFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool", nullptr, MaxPool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"avgPool", nullptr, AvgPool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"avgPoolGrad", nullptr, AvgPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pad2d", nullptr, Pad2D, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"slice4d", nullptr, Slice4D, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sumRows", nullptr, SumRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmul", nullptr, MatMul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"addBias", nullptr, AddBias, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adam", nullptr, Adam, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"addSame", nullptr, AddSame, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"clip", nullptr, Clip, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"clipGrad", nullptr, ClipGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"relu6Grad", nullptr, Relu6Grad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"meanMiddle", nullptr, MeanMiddle, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"meanMiddleGrad", nullptr, MeanMiddleGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNorm", nullptr, BatchNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormTrain", nullptr, BatchNormTrain, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormGrad", nullptr, BatchNormGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"failInPool", nullptr, FailInPool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setWideVectors", nullptr, SetWideVectors, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return nullptr;
  return exports;
}

}  // namespace
}  // namespace pb

NAPI_MODULE(NODE_GYP_MODULE_NAME, pb::Init)
