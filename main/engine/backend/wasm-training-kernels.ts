/**
 * Convolution gradients for the tfjs `wasm` backend, so that it can train conv nets.
 *
 * As shipped, `Conv2DBackpropFilter` is not registered for 'wasm' (training a conv fails) and
 * its `Conv2DBackpropInput` is a slow scalar loop. Both gradients are themselves convolutions,
 * so here each is rewritten as one call of the backend's own XNNPACK `Conv2D` kernel plus cheap
 * layout kernels (transpose, pad, reverse, slice, reshape). See shared/docs/PLATFORM.md,
 * "tfjs wasm backend" and "Where a wasm training step's time goes".
 *
 * The kernels call the wasm backend's kernel functions directly (not through the engine), so
 * the intermediates never become engine tensors and never reach the gradient tape; each one is
 * freed with `backend.disposeData` before the kernel returns.
 *
 * Only NHWC, dilation 1 (tfjs' Conv2D gradient itself rejects dilations > 1), any strides,
 * and padding 'same' / 'valid' / a number / explicit pairs, exactly as `tf.conv2d` takes them.
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
 * dW[kh,kw,ci,co] = sum over n,oh,ow of x[n, oh*s - padTop + kh, ow*s - padLeft + kw, ci] * dy[n,oh,ow,co].
 *
 * That is a convolution in which ci plays the batch, the batch n plays the reduced channel, and
 * dy is the filter: input x^T [ci,H,W,N], filter dy^T [OH,OW,N,co], stride 1, the filter dilated
 * by the forward stride s, the forward's top/left padding. Its output [ci, >=KH, >=KW, co] is
 * cropped to the filter size and transposed to [KH,KW,ci,co].
 */
const backpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const kernel = 'Conv2DBackpropFilter';
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as GradAttrs & { filterShape: [number, number, number, number] };
  const info = forwardInfo(x.shape, a.filterShape, a, kernel);
  checkDy(dy, info, kernel);
  const b = backend as KernelBackend;
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
};

/**
 * dx[n,ih,iw,ci] = sum of dy[n,oh,ow,co] * w[kh,kw,ci,co] over ih = oh*s - padTop + kh.
 *
 * Spread dy out by the stride (s-1 zeros after every row/column), and dx becomes a stride-1
 * convolution of that dilated dy D with the filter flipped in space and with in/out channels
 * swapped, w'[k',l',co,ci] = w[KH-1-k', KW-1-l', ci, co]:  dx[ih] = sum_k' D[ih + padTop - (KH-1) + k'] w'[k'].
 * Rows of D outside 0..len-1 are zero padding (given to XNNPACK); rows never read are sliced off.
 */
const backpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const kernel = 'Conv2DBackpropInput';
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as GradAttrs & { inputShape: [number, number, number, number] };
  const info = forwardInfo(a.inputShape, filter.shape, a, kernel);
  checkDy(dy, info, kernel);
  const b = backend as KernelBackend;
  const { batchSize: n, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight, inWidth, outHeight, outWidth, outChannels: co } = info;

  // w' = reverse(w, [0,1]) with the channel axes swapped: [KH,KW,co,ci].
  const flipped = run(b, 'Reverse', { x: filter }, { dims: [0, 1] });
  const wT = run(b, 'Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
  free(b, flipped);

  // D: dy with s-1 zeros after each row and column, shape [N, OH*sh, OW*sw, co].
  let d = dy;
  let ownsD = false;
  if (sh > 1 || sw > 1) {
    const split = run(b, 'Reshape', { x: dy }, { shape: [n, outHeight, 1, outWidth, 1, co] });
    const spread = run(b, 'PadV2', { x: split }, { paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
    d = run(b, 'Reshape', { x: spread }, { shape: [n, outHeight * sh, outWidth * sw, co] });
    free(b, split, spread);
    ownsD = true;
  }

  // Output row ih reads D rows ih + padTop - (KH-1) ... ih + padTop: overall lo..hi.
  const rows = readWindow(info.padInfo.top, kh, inHeight, outHeight * sh);
  const cols = readWindow(info.padInfo.left, kw, inWidth, outWidth * sw);
  if (rows.first > 0 || rows.last < outHeight * sh - 1 || cols.first > 0 || cols.last < outWidth * sw - 1) {
    const sliced = run(b, 'Slice', { x: d }, {
      begin: [0, rows.first, cols.first, 0],
      size: [n, rows.last - rows.first + 1, cols.last - cols.first + 1, co],
    });
    if (ownsD) free(b, d);
    d = sliced;
    ownsD = true;
  }

  const dx = xnnConv(b, d, wT, [1, 1], { top: rows.before, bottom: rows.after, left: cols.before, right: cols.after, type: 'EXPLICIT' });
  if (ownsD) free(b, d);
  free(b, wT);
  if (dx.shape[1] !== inHeight || dx.shape[2] !== inWidth) {
    free(b, dx);
    throw new Error(`${kernel} on wasm produced [${dx.shape.join(',')}], expected [${a.inputShape.join(',')}] (a bug in the padding arithmetic)`);
  }
  return dx;
};

/**
 * Along one axis: which part of the dilated dy (length `len`) the input gradient reads, as the
 * rows kept (first..last) and the zero padding needed before and after them.
 */
function readWindow(padBefore: number, k: number, inSize: number, len: number): { first: number; last: number; before: number; after: number } {
  const lo = padBefore - (k - 1);
  const hi = inSize - 1 + padBefore;
  const first = Math.max(0, lo);
  const last = Math.min(len - 1, hi);
  return { first, last, before: first - lo, after: hi - last };
}

/** The two kernel configs this module registers (exported so tests can check which is active). */
export const WASM_TRAINING_KERNELS: readonly KernelConfig[] = [
  { kernelName: 'Conv2DBackpropFilter', backendName: BACKEND, kernelFunc: backpropFilter },
  { kernelName: 'Conv2DBackpropInput', backendName: BACKEND, kernelFunc: backpropInput },
];

/** Registers both gradient kernels for 'wasm', replacing the stock Conv2DBackpropInput. Idempotent. */
export function registerWasmTrainingKernels(): void {
  for (const config of WASM_TRAINING_KERNELS) {
    const current = getKernel(config.kernelName, BACKEND);
    if (current === config) continue;
    if (current != null) unregisterKernel(config.kernelName, BACKEND);
    registerKernel(config);
  }
}
