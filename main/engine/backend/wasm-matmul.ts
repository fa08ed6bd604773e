/**
 * The matrix product (BatchMatMul) for the tfjs `wasm` backend as the SIMD GEMM of
 * ./simd/kernels.c. The stock kernel runs the weight gradient of a Linear layer (x^T dy,
 * transposeA) at well under 1 GFLOP/s and the plain product at about 4 (shared/docs/PLATFORM.md,
 * DGL head profile), which made the DGL head's MLP the slowest part of a DGL step.
 *
 * Handled here: float32, any batch (equal batch dimensions, or one side's batch of 1 broadcast),
 * A plain or transposed, B plain or transposed (B^T is first transposed into scratch space, a
 * pass over B that costs 1/M of the product). Everything else (both transposed, batch shapes
 * that broadcast otherwise, the SIMD module not linking, setSimdGemmEnabled(false)) goes to the
 * stock kernel, captured when this module loads, whose setup function this config carries so
 * that the backend still initialises it.
 */
import '@tensorflow/tfjs-backend-wasm';
import { broadcast_util, getKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { addressOf, heapBackend, sizeOf } from './wasm-heap';
import { scratch, simdGemmEnabled, simdKernels } from './wasm-simd';

const BACKEND = 'wasm';
const KERNEL = 'BatchMatMul';

const stock = getKernel(KERNEL, BACKEND);
if (stock == null) throw new Error(`the tfjs wasm backend registered no '${KERNEL}' kernel: the SIMD matrix product needs it as its fallback`);

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

const batchMatMul: KernelFunc = (args) => {
  const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as MatMulAttrs;
  const heap = heapBackend(args.backend, KERNEL);
  const simd = simdGemmEnabled() ? simdKernels(heap) : null;
  if (simd === null || a.dtype !== 'float32' || b.dtype !== 'float32' || (transposeA && transposeB) || a.shape.length < 2 || b.shape.length < 2) {
    return stock.kernelFunc(args);
  }
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = sizeOf(outerA);
  const batchB = sizeOf(outerB);
  const sameBatch = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  if (!sameBatch && batchA !== 1 && batchB !== 1) return stock.kernelFunc(args);

  const [ra, ca] = a.shape.slice(-2) as [number, number];
  const [rb, cb] = b.shape.slice(-2) as [number, number];
  const [m, k] = transposeA ? [ca, ra] : [ra, ca];
  const [kb, n] = transposeB ? [cb, rb] : [rb, cb];
  if (k !== kb) {
    throw new Error(`Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  }
  const outShape = [...broadcast_util.assertAndGetBroadcastShape(outerA, outerB), m, n];
  const out = heap.makeOutput(outShape, 'float32');
  const batch = Math.max(batchA, batchB);
  if (m * n === 0) return out;
  // Scratch for B^T's transpose (one batch at a time), allocated after the output.
  const tmp = transposeB ? scratch(heap, 0, k * n) : null;
  try {
    const [aAt, bAt, cAt] = [addressOf(heap, a), addressOf(heap, b), addressOf(heap, out)];
    // A(i, t): row-major [m, k] (a_is = k, a_ts = 1) or stored transposed [k, m] (1, m).
    const [aIs, aTs] = transposeA ? [1, m] : [k, 1];
    for (let i = 0; i < batch; i++) {
      const aI = aAt + (batchA === 1 ? 0 : i * m * k * 4);
      let bI = bAt + (batchB === 1 ? 0 : i * k * n * 4);
      if (tmp) {
        // Transpose once when B's batch is broadcast.
        if (i === 0 || batchB !== 1) simd.transpose2d(bI, tmp.f32, n, k);
        bI = tmp.f32;
      }
      simd.gemm(aI, aIs, aTs, bI, cAt + i * m * n * 4, m, n, k, 0);
    }
  } finally {
    tmp?.free();
  }
  return out;
};

/** The BatchMatMul config registered by ./wasm-training-kernels registerWasmTrainingKernels. */
export const WASM_MATMUL_KERNEL: KernelConfig = { kernelName: KERNEL, backendName: BACKEND, kernelFunc: batchMatMul, setupFunc: stock.setupFunc };
