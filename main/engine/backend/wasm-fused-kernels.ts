/**
 * The fused training kernels of ./fused-ops.ts for the tfjs `wasm` backend, written as JS loops
 * over the wasm heap (./wasm-heap.ts): training-mode BatchNorm (+ residual, + ReLU, running
 * statistics) forward and backward, each one pass or two over the data, and the SGD update.
 *
 * The loops run as the SIMD code of ./simd/kernels.c where it links (./wasm-simd.ts), else as
 * the JS loops here; both compute the same. Per-channel sums end in float64 (SIMD: float32 over
 * blocks of 64 rows, then float64), so the batch statistics are at least as exact as the cpu
 * backend's float32 reductions. Layout: channels last (NHWC), the channel axis is the
 * innermost and contiguous, so every loop walks the data once in memory order.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  BATCH_NORM_TRAIN,
  BATCH_NORM_TRAIN_GRAD,
  type BatchNormTrainAttrs,
  type BatchNormTrainGradAttrs,
  SGD_UPDATE,
  type SgdUpdateAttrs,
} from './fused-ops';
import { addressOf, f32, heapBackend, sizeOf } from './wasm-heap';
import { scratch, simdKernels } from './wasm-simd';

const BACKEND = 'wasm';

function checkChannels(kernel: string, name: string, info: TensorInfo | undefined, channels: number): void {
  if (info === undefined || info.shape.length !== 1 || info.shape[0] !== channels) {
    throw new Error(`${kernel}: ${name} must have shape [${channels}], got ${info ? `[${info.shape.join(',')}]` : 'nothing'}`);
  }
}

function checkSame(kernel: string, name: string, info: TensorInfo | undefined, shape: number[]): void {
  if (info === undefined || info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${kernel}: ${name} must have shape [${shape.join(',')}], got ${info ? `[${info.shape.join(',')}]` : 'nothing'}`);
  }
}

/** Channels (last axis) and values per channel of x; refuses fewer than 2 values per channel. */
function geometry(kernel: string, x: TensorInfo): { channels: number; size: number; perChannel: number } {
  const channels = x.shape[x.shape.length - 1] ?? 0;
  const size = sizeOf(x.shape);
  const perChannel = channels > 0 ? size / channels : 0;
  // PyTorch refuses too: the unbiased variance of one value is undefined.
  if (x.shape.length < 2 || perChannel < 2) throw new Error(`${kernel}: training-mode BatchNorm needs more than 1 value per channel, got input of shape [${x.shape.join(',')}]`);
  return { channels, size, perChannel };
}

const batchNormTrain: KernelFunc = ({ inputs, backend, attrs }) => {
  const kernel = BATCH_NORM_TRAIN;
  const b = heapBackend(backend, kernel);
  const { x, gamma, beta, runningMean, runningVar, residual } = inputs as Record<string, TensorInfo | undefined>;
  const a = attrs as unknown as BatchNormTrainAttrs;
  if (x === undefined) throw new Error(`${kernel}: no input x`);
  const { channels: C, size, perChannel: M } = geometry(kernel, x);
  checkChannels(kernel, 'gamma', gamma, C);
  checkChannels(kernel, 'beta', beta, C);
  checkChannels(kernel, 'runningMean', runningMean, C);
  checkChannels(kernel, 'runningVar', runningVar, C);
  if (a.residual) checkSame(kernel, 'residual', residual, x.shape);

  const outY = b.makeOutput(x.shape, 'float32');
  const outMean = b.makeOutput([C], 'float32');
  const outVar = b.makeOutput([C], 'float32');
  const outRunMean = b.makeOutput([C], 'float32');
  const outRunVar = b.makeOutput([C], 'float32');
  const m = a.momentum;
  /** Mean, variance and running statistics from the per-channel sums; scale and shift for y. */
  const finishStats = (sum: ArrayLike<number>, sq: ArrayLike<number>, scale: Float32Array | Float64Array, shift: Float32Array | Float64Array): void => {
    const g = f32(b, gamma!);
    const be = f32(b, beta!);
    const rm = f32(b, runningMean!);
    const rv = f32(b, runningVar!);
    const meanV = f32(b, outMean);
    const varV = f32(b, outVar);
    const rmOut = f32(b, outRunMean);
    const rvOut = f32(b, outRunVar);
    for (let c = 0; c < C; c++) {
      const mean = sum[c]! / M;
      const variance = Math.max(0, sq[c]! / M - mean * mean);
      meanV[c] = mean;
      varV[c] = variance;
      // Running statistics as torch.nn.BatchNorm2d: momentum-weighted, the variance unbiased.
      rmOut[c] = (1 - m) * rm[c]! + m * mean;
      rvOut[c] = (1 - m) * rv[c]! + m * variance * (M / (M - 1));
      const s = g[c]! / Math.sqrt(variance + a.epsilon);
      scale[c] = s;
      shift[c] = be[c]! - mean * s;
    }
  };

  const simd = simdKernels(b);
  if (simd) {
    const c4 = Math.ceil(C / 4) * 4;
    const tmp = scratch(b, 2 * C, 2 * c4 + 2 * c4);
    try {
      const [sumAt, sqAt, accAt] = [tmp.f64, tmp.f64 + 8 * C, tmp.f32];
      const [scaleAt, shiftAt] = [accAt + 8 * c4, accAt + 12 * c4];
      simd.bn_stats(addressOf(b, x), M, C, accAt, sumAt, sqAt);
      const heap = b.wasm.HEAPF32.buffer;
      finishStats(new Float64Array(heap, sumAt, C), new Float64Array(heap, sqAt, C), new Float32Array(heap, scaleAt, C), new Float32Array(heap, shiftAt, C));
      simd.bn_apply(addressOf(b, x), a.residual ? addressOf(b, residual!) : 0, addressOf(b, outY), M, C, scaleAt, shiftAt, a.relu ? 1 : 0);
    } finally {
      tmp.free();
    }
    return [outY, outMean, outVar, outRunMean, outRunVar];
  }

  // Views only now: the allocations above may have grown the heap.
  const xv = f32(b, x);
  const yv = f32(b, outY);

  const sum = new Float64Array(C);
  const sq = new Float64Array(C);
  for (let p = 0; p < size; p += C) {
    for (let c = 0; c < C; c++) {
      const v = xv[p + c]!;
      sum[c]! += v;
      sq[c]! += v * v;
    }
  }
  const scale = new Float64Array(C);
  const shift = new Float64Array(C);
  finishStats(sum, sq, scale, shift);

  if (a.residual) {
    const r = f32(b, residual!);
    if (a.relu) {
      for (let p = 0; p < size; p += C) {
        for (let c = 0; c < C; c++) {
          const v = xv[p + c]! * scale[c]! + shift[c]! + r[p + c]!;
          yv[p + c] = v > 0 ? v : 0;
        }
      }
    } else {
      for (let p = 0; p < size; p += C) for (let c = 0; c < C; c++) yv[p + c] = xv[p + c]! * scale[c]! + shift[c]! + r[p + c]!;
    }
  } else if (a.relu) {
    for (let p = 0; p < size; p += C) {
      for (let c = 0; c < C; c++) {
        const v = xv[p + c]! * scale[c]! + shift[c]!;
        yv[p + c] = v > 0 ? v : 0;
      }
    }
  } else {
    for (let p = 0; p < size; p += C) for (let c = 0; c < C; c++) yv[p + c] = xv[p + c]! * scale[c]! + shift[c]!;
  }
  return [outY, outMean, outVar, outRunMean, outRunVar];
};

/**
 * With g = dy masked by the ReLU (y > 0), x^ = (x - mean) / sqrt(var + eps) and M values per
 * channel: dbeta = sum g, dgamma = sum g x^, dx = gamma / sqrt(var + eps) (g - dbeta / M - x^
 * dgamma / M), the residual's gradient is g. Batch statistics' own dependence on x is included
 * (training mode), exactly as the composed ops' gradient.
 */
const batchNormTrainGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const kernel = BATCH_NORM_TRAIN_GRAD;
  const b = heapBackend(backend, kernel);
  const { dy, x, gamma, mean, variance, y } = inputs as Record<string, TensorInfo | undefined>;
  const a = attrs as unknown as BatchNormTrainGradAttrs;
  if (x === undefined) throw new Error(`${kernel}: no input x`);
  const { channels: C, size, perChannel: M } = geometry(kernel, x);
  checkSame(kernel, 'dy', dy, x.shape);
  if (a.relu) checkSame(kernel, 'y', y, x.shape);
  checkChannels(kernel, 'gamma', gamma, C);
  checkChannels(kernel, 'mean', mean, C);
  checkChannels(kernel, 'variance', variance, C);

  const outDx = b.makeOutput(x.shape, 'float32');
  const outDgamma = b.makeOutput([C], 'float32');
  const outDbeta = b.makeOutput([C], 'float32');
  const outDres = a.residual ? b.makeOutput(x.shape, 'float32') : null;

  /** dbeta, dgamma and dx = k1 g + k2 x + k3's per-channel factors from the two sums. */
  const factors = (sdy: ArrayLike<number>, sdyx: ArrayLike<number>, k1: Float32Array | Float64Array, k2: Float32Array | Float64Array, k3: Float32Array | Float64Array): void => {
    const gv = f32(b, gamma!);
    const meanV = f32(b, mean!);
    const varV = f32(b, variance!);
    const dg = f32(b, outDgamma);
    const db = f32(b, outDbeta);
    for (let c = 0; c < C; c++) {
      const invStd = 1 / Math.sqrt(varV[c]! + a.epsilon);
      const mu = meanV[c]!;
      const dbeta = sdy[c]!;
      const dgamma = (sdyx[c]! - mu * dbeta) * invStd;
      db[c] = dbeta;
      dg[c] = dgamma;
      const s = gv[c]! * invStd;
      const t = (invStd * dgamma) / M;
      k1[c] = s;
      k2[c] = -s * t;
      k3[c] = s * (mu * t - dbeta / M);
    }
  };

  const simd = simdKernels(b);
  if (simd) {
    const c4 = Math.ceil(C / 4) * 4;
    const tmp = scratch(b, 2 * C, 2 * c4 + 3 * c4);
    try {
      const [sdyAt, sdyxAt, accAt] = [tmp.f64, tmp.f64 + 8 * C, tmp.f32];
      const [k1At, k2At, k3At] = [accAt + 8 * c4, accAt + 12 * c4, accAt + 16 * c4];
      const [xAt, dyAt, dxAt] = [addressOf(b, x), addressOf(b, dy!), addressOf(b, outDx)];
      // The masked dy goes where pass 2 reads it: the residual's gradient, else dx itself.
      const gAt = a.relu ? (outDres ? addressOf(b, outDres) : dxAt) : dyAt;
      simd.bn_grad_sums(dyAt, xAt, a.relu ? addressOf(b, y!) : 0, a.relu ? gAt : 0, M, C, accAt, sdyAt, sdyxAt);
      if (outDres && !a.relu) f32(b, outDres).set(f32(b, dy!));
      const heap = b.wasm.HEAPF32.buffer;
      factors(new Float64Array(heap, sdyAt, C), new Float64Array(heap, sdyxAt, C), new Float32Array(heap, k1At, C), new Float32Array(heap, k2At, C), new Float32Array(heap, k3At, C));
      simd.bn_grad_dx(gAt, xAt, dxAt, M, C, k1At, k2At, k3At);
    } finally {
      tmp.free();
    }
    return outDres ? [outDx, outDgamma, outDbeta, outDres] : [outDx, outDgamma, outDbeta];
  }

  const xv = f32(b, x);
  const dyv = f32(b, dy!);
  const dxv = f32(b, outDx);
  const yv = a.relu ? f32(b, y!) : null;

  // Pass 1: the masked dy (kept in dx's memory for pass 2) and its two per-channel sums.
  const sdy = new Float64Array(C);
  const sdyx = new Float64Array(C);
  if (yv) {
    for (let p = 0; p < size; p += C) {
      for (let c = 0; c < C; c++) {
        const i = p + c;
        const gi = yv[i]! > 0 ? dyv[i]! : 0;
        dxv[i] = gi;
        sdy[c]! += gi;
        sdyx[c]! += gi * xv[i]!;
      }
    }
  } else {
    for (let p = 0; p < size; p += C) {
      for (let c = 0; c < C; c++) {
        const gi = dyv[p + c]!;
        sdy[c]! += gi;
        sdyx[c]! += gi * xv[p + c]!;
      }
    }
  }
  if (outDres) {
    const r = f32(b, outDres);
    r.set(yv ? dxv : dyv);
  }

  // dx = k1 g + k2 x + k3 per channel.
  const k1 = new Float64Array(C);
  const k2 = new Float64Array(C);
  const k3 = new Float64Array(C);
  factors(sdy, sdyx, k1, k2, k3);
  const src = yv ? dxv : dyv;
  for (let p = 0; p < size; p += C) {
    for (let c = 0; c < C; c++) {
      const i = p + c;
      dxv[i] = k1[c]! * src[i]! + k2[c]! * xv[i]! + k3[c]!;
    }
  }
  return outDres ? [outDx, outDgamma, outDbeta, outDres] : [outDx, outDgamma, outDbeta];
};

/**
 * The SGD rule of ../train/sgd.ts in one pass. Every intermediate is rounded to float32
 * (Math.fround) in the order the composed tfjs ops compute it, so the result is the same as
 * theirs, not merely close.
 */
const sgdUpdate: KernelFunc = ({ inputs, backend, attrs }) => {
  const kernel = SGD_UPDATE;
  const b = heapBackend(backend, kernel);
  const { param, grad, buffer } = inputs as Record<string, TensorInfo | undefined>;
  const a = attrs as unknown as SgdUpdateAttrs;
  if (param === undefined) throw new Error(`${kernel}: no input param`);
  checkSame(kernel, 'grad', grad, param.shape);
  if (buffer !== undefined) checkSame(kernel, 'buffer', buffer, param.shape);
  const useMomentum = a.momentum !== 0;
  const outParam = b.makeOutput(param.shape, 'float32');
  const outBuf = useMomentum ? b.makeOutput(param.shape, 'float32') : null;
  const fr = Math.fround;
  const [lr, m, wd, keep] = [fr(a.lr), fr(a.momentum), fr(a.weightDecay), fr(1 - a.dampening)];
  const simd = simdKernels(b);
  if (simd) {
    const bufInAt = useMomentum && buffer !== undefined ? addressOf(b, buffer) : 0;
    simd.sgd_update(addressOf(b, param), addressOf(b, grad!), bufInAt, outBuf ? addressOf(b, outBuf) : 0, addressOf(b, outParam), sizeOf(param.shape), lr, m, wd, keep, a.nesterov ? 1 : 0);
    return outBuf ? [outParam, outBuf] : [outParam];
  }
  const p = f32(b, param);
  const gv = f32(b, grad!);
  const pOut = f32(b, outParam);
  const bufIn = useMomentum && buffer !== undefined ? f32(b, buffer) : null;
  const bufOut = outBuf ? f32(b, outBuf) : null;
  const n = p.length;
  for (let i = 0; i < n; i++) {
    const pi = p[i]!;
    let g = gv[i]!;
    if (wd !== 0) g = fr(g + fr(pi * wd));
    if (bufOut) {
      // First step: buf = g, no dampening (PyTorch clones the gradient).
      const bi = bufIn ? fr(fr(bufIn[i]! * m) + fr(g * keep)) : g;
      bufOut[i] = bi;
      g = a.nesterov ? fr(g + fr(bi * m)) : bi;
    }
    pOut[i] = fr(pi - fr(g * lr));
  }
  return outBuf ? [outParam, outBuf] : [outParam];
};

/** The fused kernels for 'wasm' (registered by ./wasm-training-kernels registerWasmTrainingKernels). */
export const WASM_FUSED_KERNELS: readonly KernelConfig[] = [
  { kernelName: BATCH_NORM_TRAIN, backendName: BACKEND, kernelFunc: batchNormTrain },
  { kernelName: BATCH_NORM_TRAIN_GRAD, backendName: BACKEND, kernelFunc: batchNormTrainGrad },
  { kernelName: SGD_UPDATE, backendName: BACKEND, kernelFunc: sgdUpdate },
];
