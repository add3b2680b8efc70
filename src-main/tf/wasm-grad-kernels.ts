/**
 * Gradient kernels the wasm backend lacks (Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter,
 * DepthwiseConv2dNativeBackpropInput), built from kernels it has, so CNNs train on wasm:
 * - a filter gradient correlates the (padded) input with the output gradient: each filter tap is a
 *   strided slice of the input; the taps are concatenated along channels (an im2col) and one
 *   matMul with the output gradient yields every tap at once;
 * - an input gradient is a convolution of the zero-upsampled output gradient with the flipped filter.
 * The ops run inside the kernel (the engine does not record them on the gradient tape there), and
 * every intermediate is disposed: the result's data is handed to the engine with one extra reference.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import type { KernelBackend, KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { AppError } from '../../src-shared/errors';

type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
interface KernelArgs {
  /** x and dy, or dy and filter, as the kernel takes them. */
  inputs: Record<'x' | 'dy' | 'filter', TensorInfo>;
  backend: KernelBackend;
  attrs?: NamedAttrMap;
}

/** A Tensor over a kernel input that the kernel may dispose without freeing the caller's data. */
function borrow(backend: KernelBackend, info: TensorInfo): tf.Tensor {
  backend.incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info, backend);
}

/** Hand `t` to the engine as a kernel output: one more reference on its data, then drop the Tensor. */
function release(backend: KernelBackend, t: tf.Tensor): TensorInfo {
  backend.incRef(t.dataId);
  const info = { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  t.dispose();
  return info;
}

/** Pads (positive) or crops (negative) `before`/`after` elements on spatial axis 1 or 2 of an NHWC tensor. */
function padOrCrop(t: tf.Tensor4D, axis: 1 | 2, before: number, after: number): tf.Tensor4D {
  const pads: [number, number][] = [[0, 0], [0, 0], [0, 0], [0, 0]];
  pads[axis] = [Math.max(0, before), Math.max(0, after)];
  let out = before > 0 || after > 0 ? tf.pad(t, pads) : t;
  if (before < 0 || after < 0) {
    const begin = [0, 0, 0, 0];
    const size = [-1, -1, -1, -1];
    begin[axis] = Math.max(0, -before);
    size[axis] = out.shape[axis] - begin[axis] - Math.max(0, -after);
    out = tf.slice(out, begin, size);
  }
  return out;
}

/** Inserts stride-1 zeros between spatial elements: [B,H,W,C] → [B,(H-1)s+1,(W-1)s+1,C]. */
function upsampleWithZeros(t: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return t;
  const [b, h, w, c] = t.shape;
  const spread = tf.pad(tf.reshape(t, [b, h, 1, w, 1, c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  return tf.slice(tf.reshape(spread, [b, h * sh, w * sw, c]) as tf.Tensor4D, [0, 0, 0, 0], [b, (h - 1) * sh + 1, (w - 1) * sw + 1, c]);
}

/**
 * The input patches seen by each filter tap, padded as the forward convolution pads:
 * taps[i*fw+j] = x_padded[:, i*dh + s*oh, j*dw + s*ow, :] with shape [B, outH, outW, C].
 */
function tapSlices(x: tf.Tensor4D, info: backend_util.Conv2DInfo): tf.Tensor4D[] {
  const { filterHeight: fh, filterWidth: fw, dilationHeight: dh, dilationWidth: dw } = info;
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow, padInfo } = info;
  const [b, h, w, c] = x.shape;
  const needH = (fh - 1) * dh + (oh - 1) * sh + 1;
  const needW = (fw - 1) * dw + (ow - 1) * sw + 1;
  const xp = tf.pad(x, [[0, 0], [padInfo.top, Math.max(0, needH - h - padInfo.top)], [padInfo.left, Math.max(0, needW - w - padInfo.left)], [0, 0]]);
  const taps: tf.Tensor4D[] = [];
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      taps.push(
        sh === 1 && sw === 1
          ? tf.slice(xp, [0, i * dh, j * dw, 0], [b, oh, ow, c])
          : (tf.stridedSlice(xp, [0, i * dh, j * dw, 0], [b, i * dh + (oh - 1) * sh + 1, j * dw + (ow - 1) * sw + 1, c], [1, sh, sw, 1]) as tf.Tensor4D),
      );
    }
  }
  return taps;
}

function nhwc(t: tf.Tensor4D, dataFormat: unknown): tf.Tensor4D {
  return dataFormat === 'NCHW' ? tf.transpose(t, [0, 2, 3, 1]) : t;
}

function requireNumeric(kernel: string, dtype: string): void {
  if (dtype !== 'float32') {
    throw new AppError('UNSUPPORTED', `${kernel} on the wasm backend needs float32 tensors, got ${dtype}; cast the model to float32 before training.`);
  }
}

/** dW[fh,fw,ci,co] = Σ_{b,y,x} xPatch(tap)[b,y,x,ci] · dy[b,y,x,co], for every tap at once. */
export function conv2DBackpropFilter({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
    strides: [number, number] | number;
    pad: Pad;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode: Rounding;
    filterShape: [number, number, number, number];
  };
  requireNumeric('Conv2DBackpropFilter', inputs.x.dtype);
  const result = tf.tidy(() => {
    const x = nhwc(borrow(backend, inputs.x) as tf.Tensor4D, dataFormat);
    const dy = nhwc(borrow(backend, inputs.dy) as tf.Tensor4D, dataFormat);
    const info = backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const [fh, fw, ci, co] = filterShape;
    const n = dy.shape[0] * dy.shape[1] * dy.shape[2];
    const taps = tapSlices(x, info);
    const patches = tf.reshape(taps.length === 1 ? taps[0] : tf.concat(taps, 3), [n, fh * fw * ci]);
    return tf.reshape(tf.matMul(patches, tf.reshape(dy, [n, co]), true, false), [fh, fw, ci, co]);
  });
  return release(backend, result);
}

/** dW[fh,fw,c,m] = Σ_{b,y,x} xPatch(tap)[b,y,x,c] · dy[b,y,x,c·M+m], one tap at a time. */
export function depthwiseConv2dNativeBackpropFilter({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as {
    strides: [number, number] | number;
    dilations: [number, number] | number;
    pad: Pad;
    dimRoundingMode: Rounding;
    filterShape: [number, number, number, number];
  };
  requireNumeric('DepthwiseConv2dNativeBackpropFilter', inputs.x.dtype);
  const result = tf.tidy(() => {
    const x = borrow(backend, inputs.x) as tf.Tensor4D;
    const dy = borrow(backend, inputs.dy) as tf.Tensor4D;
    const info = backend_util.computeConv2DInfo(x.shape, filterShape, strides, dilations ?? 1, pad, dimRoundingMode, true);
    const [fh, fw, c, m] = filterShape;
    const n = dy.shape[0] * dy.shape[1] * dy.shape[2];
    const dy3 = tf.reshape(dy, [n, c, m]);
    const perTap = tapSlices(x, info).map((tap) => tf.sum(tf.mul(tf.reshape(tap, [n, c, 1]), dy3), 0));
    return tf.reshape(tf.stack(perTap), [fh, fw, c, m]);
  });
  return release(backend, result);
}

/**
 * dx = the zero-upsampled dy, padded so that a VALID correlation lands on the input grid, correlated
 * with the spatially flipped filter (dilated like the forward pass); the channel multiplier's outputs
 * are summed back onto their input channel.
 */
export function depthwiseConv2dNativeBackpropInput({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as {
    strides: [number, number] | number;
    dilations: [number, number] | number;
    pad: Pad;
    dimRoundingMode: Rounding;
    inputShape: [number, number, number, number];
  };
  requireNumeric('DepthwiseConv2dNativeBackpropInput', inputs.dy.dtype);
  const result = tf.tidy(() => {
    const dy = borrow(backend, inputs.dy) as tf.Tensor4D;
    const filter = borrow(backend, inputs.filter) as tf.Tensor4D;
    const info = backend_util.computeConv2DInfo(inputShape, filter.shape, strides, dilations ?? 1, pad, dimRoundingMode, true);
    const { filterHeight: fh, filterWidth: fw, dilationHeight: dh, dilationWidth: dw, padInfo } = info;
    const [b, h, w, c] = inputShape;
    const m = filter.shape[3];
    let z = upsampleWithZeros(dy, info.strideHeight, info.strideWidth);
    const top = (fh - 1) * dh - padInfo.top;
    const left = (fw - 1) * dw - padInfo.left;
    z = padOrCrop(z, 1, top, h + (fh - 1) * dh - z.shape[1] - top);
    z = padOrCrop(z, 2, left, w + (fw - 1) * dw - z.shape[2] - left);
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [fh, fw, c * m, 1]) as tf.Tensor4D;
    const dx = tf.depthwiseConv2d(z, flipped, 1, 'valid', 'NHWC', [dh, dw]);
    return m === 1 ? dx : tf.sum(tf.reshape(dx, [b, h, w, c, m]), 4);
  });
  return release(backend, result);
}

export const wasmGradKernels: KernelConfig[] = [
  { kernelName: tf.Conv2DBackpropFilter, backendName: 'wasm', kernelFunc: conv2DBackpropFilter as never },
  { kernelName: tf.DepthwiseConv2dNativeBackpropFilter, backendName: 'wasm', kernelFunc: depthwiseConv2dNativeBackpropFilter as never },
  { kernelName: tf.DepthwiseConv2dNativeBackpropInput, backendName: 'wasm', kernelFunc: depthwiseConv2dNativeBackpropInput as never },
];

/** Registers the kernels the wasm backend lacks; leaves any that a later tfjs version ships alone. */
export function registerWasmGradKernels(): string[] {
  const added: string[] = [];
  for (const k of wasmGradKernels) {
    if (!tf.getKernel(k.kernelName, 'wasm')) {
      tf.registerKernel(k);
      added.push(k.kernelName);
    }
  }
  return added;
}
