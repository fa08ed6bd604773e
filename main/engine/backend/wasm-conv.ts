/**
 * The forward convolution (Conv2D) for the tfjs `wasm` backend as the direct SIMD convolution of
 * ./simd/kernels.c (conv2d_direct on x or on a zero-padded copy of it: no im2col, no weight
 * packing, every output position in 4-wide tiles), which the convolution input
 * gradient (./wasm-training-kernels.ts) uses for its phases too. The stock kernel goes through
 * XNNPACK, which builds (and packs the weights of) a new operator whenever the filter is a new
 * tensor: every step for trained weights, every call for the gradients' sub-filters.
 *
 * Handled here: float32, NHWC, dilation 1. Everything else (or the SIMD module not linking, or
 * setSimdGemmEnabled(false)) goes to the stock kernel, captured when this module loads, whose
 * setup function this config carries so that the backend still initialises it.
 */
import '@tensorflow/tfjs-backend-wasm';
import { backend_util, getKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { addressOf, heapBackend, type WasmHeapBackend } from './wasm-heap';
import { scratch, type SimdKernels, simdGemmEnabled, simdKernels } from './wasm-simd';

const BACKEND = 'wasm';
const KERNEL = 'Conv2D';

const stock = getKernel(KERNEL, BACKEND);
if (stock == null) throw new Error(`the tfjs wasm backend registered no '${KERNEL}' kernel: the SIMD convolution needs it as its fallback`);

/** Explicit zero padding of a stride-1 or strided convolution (top/bottom/left/right). */
export interface ConvPad {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** The SIMD module where it links and the GEMMs are on, else null (then use XNNPACK). */
export function simdConv(backend: WasmHeapBackend): SimdKernels | null {
  return simdGemmEnabled() ? simdKernels(backend) : null;
}

/**
 * y = conv(x [N,H,W,Ci], filter [KH,KW,Ci,Co]) with the given strides and explicit padding,
 * dilation 1, through conv2d_direct. Output [N, OH, OW, Co] with OH = (H + top + bottom - KH) /
 * sh + 1 (floored), as tfjs computes it for explicit padding.
 */
export function directConv(b: WasmHeapBackend, simd: SimdKernels, x: TensorInfo, filter: TensorInfo, strides: [number, number], pad: ConvPad): TensorInfo {
  const [n, h, w, ci] = x.shape as [number, number, number, number];
  const [kh, kw, fci, co] = filter.shape as [number, number, number, number];
  if (fci !== ci) throw new Error(`conv2d on wasm: x has ${ci} channels but the filter [${filter.shape.join(',')}] expects ${fci}`);
  const [sh, sw] = strides;
  const oh = Math.max(0, Math.floor((h + pad.top + pad.bottom - kh) / sh) + 1);
  const ow = Math.max(0, Math.floor((w + pad.left + pad.right - kw) / sw) + 1);
  const y = b.makeOutput([n, oh, ow, co], 'float32');
  if (n * oh * ow * co === 0) return y;
  // The input the output reads: hp x wp. Without padding, and inside x, the kernel reads x in
  // place; otherwise from a zero-padded copy (one pass over x, about 1/(KH*KW*Co) of the work).
  const hp = (oh - 1) * sh + kh;
  const wp = (ow - 1) * sw + kw;
  if (pad.top === 0 && pad.left === 0 && hp <= h && wp <= w) {
    simd.conv2d_direct(addressOf(b, x), addressOf(b, filter), addressOf(b, y), n, h, w, ci, oh, ow, co, kh, kw, sh, sw);
    return y;
  }
  const padded = scratch(b, 0, n * hp * wp * ci);
  try {
    simd.pad_nhwc(addressOf(b, x), padded.f32, n, h, w, ci, hp, wp, pad.top, pad.left);
    simd.conv2d_direct(padded.f32, addressOf(b, filter), addressOf(b, y), n, hp, wp, ci, oh, ow, co, kh, kw, sh, sw);
  } finally {
    padded.free();
  }
  return y;
}

interface Conv2DAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

const conv2d: KernelFunc = (args) => {
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  const a = args.attrs as unknown as Conv2DAttrs;
  const b = heapBackend(args.backend, KERNEL);
  const simd = simdConv(b);
  const dilated = Array.isArray(a.dilations) ? a.dilations.some((d) => d !== 1) : a.dilations != null && a.dilations !== 1;
  if (simd === null || a.dataFormat !== 'NHWC' || dilated || x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) {
    return stock.kernelFunc(args);
  }
  const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
  const { top, bottom, left, right } = info.padInfo;
  const y = directConv(b, simd, x, filter, [info.strideHeight, info.strideWidth], { top, bottom, left, right });
  if (y.shape[1] !== info.outHeight || y.shape[2] !== info.outWidth) {
    // e.g. a dimRoundingMode that rounds up: leave such geometry to the stock kernel.
    b.disposeData(y.dataId);
    return stock.kernelFunc(args);
  }
  return y;
};

/** The Conv2D config registered by ./wasm-training-kernels registerWasmTrainingKernels. */
export const WASM_CONV2D_KERNEL: KernelConfig = { kernelName: KERNEL, backendName: BACKEND, kernelFunc: conv2d, setupFunc: stock.setupFunc };
