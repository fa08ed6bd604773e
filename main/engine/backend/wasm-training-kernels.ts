/**
 * Convolution gradients for the tfjs `wasm` backend, so that it can train conv nets.
 *
 * As shipped, `Conv2DBackpropFilter` is not registered for 'wasm' (training a conv fails) and
 * its `Conv2DBackpropInput` is a slow scalar loop. The filter gradient runs as a direct SIMD
 * GEMM over x's windows (conv_filter_grad in ./simd/kernels.c: no im2col, no transposes, about
 * twice the GFLOP/s of the XNNPACK form below); where that module does not link, or with
 * setSimdGemmEnabled(false), as calls of the backend's own XNNPACK `Conv2D` kernel plus layout
 * work: one convolution between transposed x and dy. The input gradient is one stride-1
 * XNNPACK convolution per stride phase (no zero-dilated dy), whose outputs are interleaved by
 * ./simd/kernels.c (or a JS loop). See shared/docs/PLATFORM.md, "tfjs wasm backend" and "Where
 * a wasm training step's time goes".
 *
 * The kernels call the wasm backend's kernel functions directly (not through the engine), so
 * the intermediates never become engine tensors and never reach the gradient tape; each one is
 * freed with `backend.disposeData` before the kernel returns.
 *
 * Only NHWC, dilation 1 (tfjs' Conv2D gradient itself rejects dilations > 1), any strides,
 * and padding 'same' / 'valid' / a number / explicit pairs, exactly as `tf.conv2d` takes them.
 *
 * This module also registers the fused BatchNorm and SGD kernels (./wasm-fused-kernels.ts).
 */
import '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  getKernel,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  registerKernel,
  type TensorInfo,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { WASM_FUSED_KERNELS } from './wasm-fused-kernels';
import { addressOf, f32, heapBackend, type WasmHeapBackend } from './wasm-heap';
import { directConv, simdConv, WASM_CONV2D_KERNEL } from './wasm-conv';
import { WASM_MATMUL_KERNEL } from './wasm-matmul';
import { type SimdKernels, simdGemmEnabled, simdKernels } from './wasm-simd';

const BACKEND = 'wasm';

type Pad = backend_util.PadInfo;
type Conv2DPad = 'valid' | 'same' | number | backend_util.ExplicitPadding;

interface GradAttrs {
  strides: [number, number] | number;
  pad: Conv2DPad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Runs one registered wasm kernel on TensorInfos, bypassing the engine (no tape, no tracking). */
function run(backend: KernelBackend, name: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
  const config = getKernel(name, BACKEND);
  if (config == null) throw new Error(`wasm training kernels need the wasm kernel '${name}', which is not registered`);
  const out = config.kernelFunc({ inputs, attrs, backend });
  if (Array.isArray(out)) throw new Error(`wasm kernel '${name}' returned ${out.length} outputs, expected 1`);
  return out;
}

/** Frees intermediates made by `run` (reshapes share data and only drop a reference). */
function free(backend: KernelBackend, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** A stride-1 (optionally dilated) convolution through XNNPACK with explicit padding. */
function xnnConv(backend: KernelBackend, x: TensorInfo, filter: TensorInfo, dilations: [number, number], pad: Pad): TensorInfo {
  const explicit: backend_util.ExplicitPadding = [[0, 0], [pad.top, pad.bottom], [pad.left, pad.right], [0, 0]];
  return run(backend, 'Conv2D', { x, filter }, { strides: [1, 1], dilations, pad: explicit, dataFormat: 'NHWC' } as unknown as NamedAttrMap);
}

/** Geometry of the forward convolution the gradient belongs to, as tfjs computes it. */
function forwardInfo(xShape: number[], filterShape: number[], attrs: GradAttrs, kernel: string): backend_util.Conv2DInfo {
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`${kernel} on wasm supports dataFormat 'NHWC' only, got '${attrs.dataFormat}'`);
  }
  if (xShape.length !== 4 || filterShape.length !== 4) {
    throw new Error(`${kernel} on wasm needs rank-4 x and filter, got x [${xShape.join(',')}] and filter [${filterShape.join(',')}]`);
  }
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

function checkDy(dy: TensorInfo, info: backend_util.Conv2DInfo, kernel: string): void {
  const [n, h, w, c] = dy.shape;
  if (n !== info.batchSize || h !== info.outHeight || w !== info.outWidth || c !== info.outChannels) {
    throw new Error(`${kernel} on wasm: dy has shape [${dy.shape.join(',')}] but the convolution outputs ` +
      `[${info.batchSize},${info.outHeight},${info.outWidth},${info.outChannels}]`);
  }
}

/**
 * dW[kh,kw,ci,co] = sum over n,oh,ow of x[n, oh*s - padTop + kh, ow*s - padLeft + kw, ci] * dy[n,oh,ow,co]:
 * the SIMD GEMM where it links, else the XNNPACK form.
 */
const backpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const kernel = 'Conv2DBackpropFilter';
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as GradAttrs & { filterShape: [number, number, number, number] };
  const info = forwardInfo(x.shape, a.filterShape, a, kernel);
  checkDy(dy, info, kernel);
  const heap = heapBackend(backend, kernel);
  const simd = simdGemmEnabled() ? simdKernels(heap) : null;
  return simd ? backpropFilterSimd(heap, simd, x, dy, info) : backpropFilterXnn(backend as KernelBackend, x, dy, info);
};


/**
 * The SIMD filter gradient's chunk of the output: whole images, or rows of one image, holding
 * about CHUNK_FLOATS of x and dy, so that a chunk stays in cache while every tap and block of
 * dW passes over it (see conv_filter_grad in ./simd/kernels.c).
 */
const CHUNK_FLOATS = 16384;
function chunkOf(info: backend_util.Conv2DInfo): { imgs: number; rows: number } {
  const perRow = info.outWidth * info.outChannels + info.strideHeight * info.inWidth * info.inChannels;
  const rows = Math.max(1, Math.floor(CHUNK_FLOATS / perRow));
  if (rows < info.outHeight) return { imgs: 1, rows };
  return { imgs: Math.max(1, Math.floor(rows / info.outHeight)), rows: info.outHeight };
}

/** The filter gradient as a direct SIMD GEMM over x's windows (./simd/kernels.c conv_filter_grad). */
function backpropFilterSimd(b: WasmHeapBackend, simd: SimdKernels, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const dw = b.makeOutput([info.filterHeight, info.filterWidth, info.inChannels, info.outChannels], 'float32');
  const chunk = chunkOf(info);
  simd.conv_filter_grad(addressOf(b, x), addressOf(b, dy), addressOf(b, dw), info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.outHeight, info.outWidth, info.outChannels, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
    info.padInfo.top, info.padInfo.left, chunk.imgs, chunk.rows);
  return dw;
}

/**
 * The filter gradient as a convolution in which ci plays the batch, the batch n plays the
 * reduced channel, and dy is the filter: input x^T [ci,H,W,N], filter dy^T [OH,OW,N,co], stride
 * 1, the filter dilated by the forward stride s, the forward's top/left padding. Its output
 * [ci, >=KH, >=KW, co] is cropped to the filter size and transposed to [KH,KW,ci,co].
 */
function backpropFilterXnn(b: KernelBackend, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight, inWidth, outHeight, outWidth } = info;
  const { top, left } = info.padInfo;

  // Bottom/right padding just large enough for KH x KW outputs; rows of x that no output ever
  // reads (e.g. 'valid' with an uneven size) only make the output larger, and are cropped.
  const bottom = Math.max(0, kh + (outHeight - 1) * sh - inHeight - top);
  const right = Math.max(0, kw + (outWidth - 1) * sw - inWidth - left);

  const xT = run(b, 'Transpose', { x }, { perm: [3, 1, 2, 0] });
  const dyT = run(b, 'Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  const z = xnnConv(b, xT, dyT, [sh, sw], { top, bottom, left, right, type: 'EXPLICIT' });
  free(b, xT, dyT);

  let cropped = z;
  if (z.shape[1] !== kh || z.shape[2] !== kw) {
    cropped = run(b, 'Slice', { x: z }, { begin: [0, 0, 0, 0], size: [info.inChannels, kh, kw, info.outChannels] });
    free(b, z);
  }
  const dw = run(b, 'Transpose', { x: cropped }, { perm: [1, 2, 0, 3] });
  free(b, cropped);
  return dw;
}

/**
 * dx[n,ih,iw,ci] = sum of dy[n,oh,ow,co] * w[kh,kw,ci,co] over ih = oh*s - padTop + kh (and the
 * same along the width).
 *
 * Split by phase: the input rows ih = s*a + r of one residue r (0 <= r < s) only meet the taps
 * kh = k0 + s*j with k0 = (r + padTop) mod s, at oh = a + q - j with q = (r + padTop - k0) / s.
 * So each of the s*s phases is a stride-1 correlation of dy with a sub-filter (those taps, flipped
 * in space, in/out channels swapped: [J, L, co, ci]), run through XNNPACK, and the phases'
 * outputs interleave into dx. At stride 1 there is one phase, the whole flipped filter, and its
 * output is dx. Unlike convolving a zero-dilated dy, no multiply ever meets an inserted zero (at
 * stride 2 that was 75% of the work).
 */
const backpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const kernel = 'Conv2DBackpropInput';
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as GradAttrs & { inputShape: [number, number, number, number] };
  const info = forwardInfo(a.inputShape, filter.shape, a, kernel);
  checkDy(dy, info, kernel);
  const b = heapBackend(backend, kernel);
  const kb = backend as KernelBackend;
  const { batchSize: n, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight, inWidth, outHeight, outWidth, inChannels: ci, outChannels: co } = info;
  const rowPhases = phases(sh, info.padInfo.top, kh, inHeight, outHeight);
  const colPhases = phases(sw, info.padInfo.left, kw, inWidth, outWidth);
  const single = sh === 1 && sw === 1;
  const simd = simdConv(b);

  const parts: { row: Phase; col: Phase; out: TensorInfo | null }[] = [];
  try {
    for (const row of rowPhases) {
      for (const col of colPhases) {
        if (row.empty || col.empty) {
          parts.push({ row, col, out: null });
          continue;
        }
        const sub = subFilter(b, filter, row, col, sh, sw);
        let src = dy;
        if (row.first > 0 || row.last < outHeight - 1 || col.first > 0 || col.last < outWidth - 1) {
          src = run(kb, 'Slice', { x: dy }, { begin: [0, row.first, col.first, 0], size: [n, row.last - row.first + 1, col.last - col.first + 1, co] });
        }
        let out: TensorInfo;
        try {
          const pad = { top: row.before, bottom: row.after, left: col.before, right: col.after };
          out = simd ? directConv(b, simd, src, sub, [1, 1], pad) : xnnConv(kb, src, sub, [1, 1], { ...pad, type: 'EXPLICIT' });
        } finally {
          free(kb, sub);
          if (src !== dy) free(kb, src);
        }
        parts.push({ row, col, out });
        if (out.shape[1] !== row.count || out.shape[2] !== col.count) {
          throw new Error(`${kernel} on wasm: phase (${row.r}, ${col.r}) produced [${out.shape.join(',')}], expected ${row.count}x${col.count} (a bug in the phase arithmetic)`);
        }
        if (single) return out;
      }
    }
    const dx = b.makeOutput([n, inHeight, inWidth, ci], 'float32');
    const scatter = simdKernels(b);
    if (scatter) {
      const dxAt = addressOf(b, dx);
      for (const { row, col, out } of parts) {
        scatter.scatter_phase(out ? addressOf(b, out) : 0, dxAt, n, inHeight, inWidth, ci, row.count, col.count, sh, sw, row.r, col.r);
      }
      return dx;
    }
    const dxv = f32(b, dx);
    for (const { row, col, out } of parts) {
      const ov = out ? f32(b, out) : null;
      for (let img = 0; img < n; img++) {
        for (let y = 0; y < row.count; y++) {
          const dstRow = ((img * inHeight + y * sh + row.r) * inWidth + col.r) * ci;
          const srcRow = (img * row.count + y) * col.count * ci;
          const dstStep = sw * ci;
          for (let x = 0, d = dstRow, s = srcRow; x < col.count; x++, d += dstStep, s += ci) {
            if (ov) for (let c = 0; c < ci; c++) dxv[d + c] = ov[s + c]!;
            else for (let c = 0; c < ci; c++) dxv[d + c] = 0;
          }
        }
      }
    }
    return dx;
  } finally {
    for (const part of parts) if (part.out && !single) free(kb, part.out);
  }
};

/** One residue class of the input positions along an axis (see backpropInput). */
interface Phase {
  /** Residue: input positions s*a + r. */
  r: number;
  /** First tap k0 and the number of taps J (k0, k0 + s, ...). */
  k0: number;
  taps: number;
  /** Input positions in this phase: a = 0 .. count-1. */
  count: number;
  /** dy rows read (first..last) and the zero padding before and after them. */
  first: number;
  last: number;
  before: number;
  after: number;
  /** No tap or no position or no dy row: the phase's dx is zero. */
  empty: boolean;
}

function phases(stride: number, padBefore: number, k: number, inSize: number, outSize: number): Phase[] {
  const out: Phase[] = [];
  for (let r = 0; r < stride; r++) {
    const k0 = (r + padBefore) % stride;
    const taps = k0 < k ? Math.ceil((k - k0) / stride) : 0;
    const count = r < inSize ? Math.ceil((inSize - r) / stride) : 0;
    const q = (r + padBefore - k0) / stride;
    // Output a reads dy rows a + q - (taps - 1) ... a + q.
    const lo = q - (taps - 1);
    const hi = count - 1 + q;
    const first = Math.max(0, lo);
    const last = Math.min(outSize - 1, hi);
    out.push({ r, k0, taps, count, first, last, before: first - lo, after: hi - last, empty: taps === 0 || count === 0 || first > last });
  }
  return out;
}

/** sub[j, l, o, i] = w[k0 + sh*(J-1-j), l0 + sw*(L-1-l), i, o]: a phase's taps, flipped, channels swapped. */
function subFilter(b: WasmHeapBackend, filter: TensorInfo, row: Phase, col: Phase, sh: number, sw: number): TensorInfo {
  const [, kw, ci, co] = filter.shape as [number, number, number, number];
  const out = b.makeOutput([row.taps, col.taps, co, ci], 'float32');
  const w = f32(b, filter);
  const o = f32(b, out);
  let p = 0;
  for (let j = 0; j < row.taps; j++) {
    const kh = row.k0 + sh * (row.taps - 1 - j);
    for (let l = 0; l < col.taps; l++) {
      const base = (kh * kw + col.k0 + sw * (col.taps - 1 - l)) * ci * co;
      for (let oc = 0; oc < co; oc++) for (let ic = 0; ic < ci; ic++) o[p++] = w[base + ic * co + oc]!;
    }
  }
  return out;
}

const stockIdentity = getKernel('Identity', BACKEND);

/**
 * Identity (tf.clone; the engine clones every tensor a gradient saves, ~90 calls in a ResNet-8
 * step) sharing the input's buffer, as the cpu backend does and as the wasm Reshape already
 * does, instead of the stock kernel's copy. Safe because no wasm kernel writes into an input.
 */
const identity: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: TensorInfo };
  if (x.dtype === 'string') {
    if (stockIdentity == null) throw new Error("the tfjs wasm backend registered no 'Identity' kernel for strings");
    return stockIdentity.kernelFunc({ inputs, backend, attrs });
  }
  (backend as KernelBackend & { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/**
 * The kernel configs this module registers (exported so tests can check which is active): the
 * two convolution gradients first, then the fused training kernels of ./wasm-fused-kernels,
 * then the SIMD matrix product of ./wasm-matmul (which falls back to the stock one), then an
 * Identity that shares the buffer.
 */
export const WASM_TRAINING_KERNELS: readonly KernelConfig[] = [
  { kernelName: 'Conv2DBackpropFilter', backendName: BACKEND, kernelFunc: backpropFilter },
  { kernelName: 'Conv2DBackpropInput', backendName: BACKEND, kernelFunc: backpropInput },
  ...WASM_FUSED_KERNELS,
  WASM_MATMUL_KERNEL,
  WASM_CONV2D_KERNEL,
  { kernelName: 'Identity', backendName: BACKEND, kernelFunc: identity },
];

/** Registers every training kernel for 'wasm', replacing the stock Conv2DBackpropInput, BatchMatMul and Identity. Idempotent. */
export function registerWasmTrainingKernels(): void {
  for (const config of WASM_TRAINING_KERNELS) {
    const current = getKernel(config.kernelName, BACKEND);
    if (current === config) continue;
    if (current != null) unregisterKernel(config.kernelName, BACKEND);
    registerKernel(config);
  }
}
