/**
 * The wasm backend's SIMD matrix product (main/engine/backend/wasm-matmul.ts, the GEMM of
 * simd/kernels.c) must equal the cpu backend's BatchMatMul for every transpose and batch layout
 * it takes (and fall back to the stock kernel for the rest), with its gradients; and the DGL head,
 * rewritten for speed (main/engine/aux/dgl-head.ts: separable adaptive pool as two GEMMs, 1x1 convs as matrix
 * products, ReLU fused into BatchNorm), must still compute the composition it had, with stock
 * ops and kernels: logits, the gradient into the backbone and every variable's gradient.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradients by itself; this is the smallest import that does.
import '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDglHead, DGL_POOL_SIZE } from '../../../main/engine/aux/dgl-head';
import { BN_EPSILON } from '../../../main/engine/nets/batch-norm';
import { WASM_MATMUL_KERNEL } from '../../../main/engine/backend/wasm-matmul';
import { initWasmBackend } from '../../../main/engine/backend/wasm-setup';
import { setSimdGemmEnabled } from '../../../main/engine/backend/wasm-simd';
import { maxError, values } from '../../helpers/numeric';

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

interface MatMulCase {
  name: string;
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
}

// Sizes off the 4 x 8 tile (m % 4, n % 8, n % 4 tails), an inner size over the GEMM's k block
// of 256, batches equal and broadcast from either side.
const MATMUL_CASES: MatMulCase[] = [
  { name: 'plain 7x5 @ 5x13', a: [7, 5], b: [5, 13], transposeA: false, transposeB: false },
  { name: 'A transposed (a Linear weight gradient), 33x6 -> 6x22', a: [33, 6], b: [33, 22], transposeA: true, transposeB: false },
  { name: 'B transposed (a Linear input gradient), 9x300 @ (11x300)^T, k over one block', a: [9, 300], b: [11, 300], transposeA: false, transposeB: true },
  { name: 'batched, equal batches [2,3]', a: [2, 3, 5, 6], b: [2, 3, 6, 9], transposeA: false, transposeB: false },
  { name: 'batch of A broadcast (the adaptive pool), A transposed', a: [1, 10, 3], b: [4, 10, 17], transposeA: true, transposeB: false },
  { name: 'batch of B broadcast, B transposed', a: [3, 4, 7], b: [5, 7], transposeA: false, transposeB: true },
  { name: 'both transposed (stock kernel)', a: [6, 5], b: [7, 6], transposeA: true, transposeB: true },
  { name: 'one column', a: [5, 4], b: [4, 1], transposeA: false, transposeB: false },
];

interface MatMulResult {
  c: Float32Array;
  shape: number[];
  da: Float32Array;
  db: Float32Array;
}

/** a @ b and d/d(a, b) of sum(c * r) on the active backend. */
function runMatMul(m: MatMulCase): MatMulResult {
  const a = tf.tensor(values(size(m.a), 31), m.a);
  const b = tf.tensor(values(size(m.b), 32), m.b);
  const c = tf.matMul(a, b, m.transposeA, m.transposeB);
  const r = tf.tensor(values(c.size, 33), c.shape);
  // tfjs' BatchMatMul gradient does not sum over a broadcast batch: skip a side broadcast over the other's batch.
  const batch = (shape: number[]): number => size(shape.slice(0, -2));
  const [av, bv] = [tf.variable(a, batch(m.a) >= batch(m.b)), tf.variable(b, batch(m.b) >= batch(m.a))];
  const variables = [av, bv].filter((v) => v.trainable);
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.matMul(av, bv, m.transposeA, m.transposeB), r)), variables);
  const read = (v: tf.Variable): Float32Array => (v.trainable ? (grads[v.name]!.dataSync() as Float32Array) : new Float32Array());
  const result = { c: c.dataSync() as Float32Array, shape: c.shape, da: read(av), db: read(bv) };
  tf.dispose([a, b, c, r, av, bv, value, ...Object.values(grads)]);
  return result;
}

/** The DGL head as it was composed before (stock ops: separable pool, conv2d, composed BatchNorm, ReLU). */
function referenceDglHead(h: tf.Tensor4D, variables: tf.Tensor[]): tf.Tensor2D {
  const [n, height, width, c] = h.shape;
  const out = DGL_POOL_SIZE;
  const bins = (len: number): tf.Tensor2D => {
    const v = new Float32Array(out * len);
    for (let i = 0; i < out; i++) {
      const start = Math.floor((i * len) / out);
      const end = Math.ceil(((i + 1) * len) / out);
      for (let j = start; j < end; j++) v[i * len + j] = 1 / (end - start);
    }
    return tf.tensor2d(v, [out, len]);
  };
  let x: tf.Tensor4D;
  if (height % out === 0 && width % out === 0) x = tf.avgPool(h, [height / out, width / out], [height / out, width / out], 'valid');
  else {
    const rows = tf.matMul(tf.tile(tf.expandDims(bins(height), 0), [n, 1, 1]) as tf.Tensor3D, tf.reshape(h, [n, height, width * c]) as tf.Tensor3D);
    const byCol = tf.transpose(tf.reshape(rows, [n, out, width, c]), [0, 2, 1, 3]);
    const cols = tf.matMul(tf.tile(tf.expandDims(bins(width), 0), [n, 1, 1]) as tf.Tensor3D, tf.reshape(byCol, [n, width, out * c]) as tf.Tensor3D);
    x = tf.transpose(tf.reshape(cols, [n, out, out, c]), [0, 2, 1, 3]) as tf.Tensor4D;
  }
  const bn = <T extends tf.Tensor>(z: T, gamma: tf.Tensor, beta: tf.Tensor): T => {
    const axes = z.rank === 4 ? [0, 1, 2] : [0];
    const { mean, variance } = tf.moments(z, axes);
    return tf.add(tf.mul(tf.sub(z, mean), tf.mul(tf.rsqrt(tf.add(variance, BN_EPSILON)), gamma)), beta) as T;
  };
  let v = 0;
  for (let i = 0; i < 3; i++) {
    const [w, gamma, beta] = [variables[v++]!, variables[v++]!, variables[v++]!];
    x = tf.relu(bn(tf.conv2d(x, w as tf.Tensor4D, 1, 'valid'), gamma, beta));
  }
  let y = tf.mean(x, [1, 2]) as tf.Tensor2D;
  for (let i = 0; i < 3; i++) {
    const [w, b, gamma, beta] = [variables[v++]!, variables[v++]!, variables[v++]!, variables[v++]!];
    y = tf.relu(bn(tf.add(tf.matMul(y, w as tf.Tensor2D), b) as tf.Tensor2D, gamma, beta));
  }
  return tf.add(tf.matMul(y, variables[v] as tf.Tensor2D), variables[v + 1]!) as tf.Tensor2D;
}

interface HeadResult {
  logits: Float32Array;
  grads: Float32Array[];
}

/** logits and d/d(h, every variable) of sum(logits * r) for one training-mode forward. */
function runHead(shape: [number, number, number, number], apply: (h: tf.Tensor4D, variables: tf.Variable[]) => tf.Tensor2D, variables: tf.Variable[]): HeadResult {
  const h = tf.tidy(() => tf.variable(tf.tensor4d(values(size(shape), 41), shape), true));
  let logits: Float32Array = new Float32Array();
  const all = [h, ...variables];
  const { value, grads } = tf.variableGrads(() => {
    const out = apply(h, variables);
    logits = out.dataSync() as Float32Array;
    return tf.sum(tf.mul(out, tf.tensor(values(out.size, 42), out.shape)));
  }, all);
  const result = { logits, grads: all.map((v) => grads[v.name]!.dataSync() as Float32Array) };
  tf.dispose([value, ...Object.values(grads), h]);
  return result;
}

const HEAD_INPUTS: { name: string; shape: [number, number, number, number] }[] = [
  { name: 'MNIST stage 1, 28x28x4 (separable GEMM pool)', shape: [8, 28, 28, 4] },
  { name: 'MNIST stage 3, 7x7x5 (bins repeat)', shape: [8, 7, 7, 5] },
];
// Batch 8: BatchNorm1d over 2 or 3 samples turns float rounding into errors near 1e-3 on any path.

describe('wasm SIMD matrix product', () => {
  const reference = new Map<string, MatMulResult>();
  const headReference = new Map<string, HeadResult>();

  beforeAll(async () => {
    await tf.setBackend('cpu');
    for (const m of MATMUL_CASES) reference.set(m.name, runMatMul(m));
    // The head's reference runs on wasm with the SIMD GEMMs off (stock XNNPACK convolutions and
    // BatchMatMul): the cpu backend's 1x1 conv gradients take seconds at width 128, and every
    // kernel involved is checked against the cpu backend on its own (here and wasm-kernels.test.ts).
    await initWasmBackend();
    setSimdGemmEnabled(false);
    for (const c of HEAD_INPUTS) {
      const head = createDglHead({ inChannels: c.shape[3], classes: 10, seed: 3 });
      headReference.set(c.name, runHead(c.shape, referenceDglHead, head.trainableVariables));
      head.dispose();
    }
    setSimdGemmEnabled(true);
  });

  afterAll(async () => {
    setSimdGemmEnabled(true);
    await tf.setBackend('cpu');
  });

  it('replaces the stock BatchMatMul on wasm, keeping its setup for the fallback', () => {
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(WASM_MATMUL_KERNEL);
    expect(WASM_MATMUL_KERNEL.setupFunc).toBeTypeOf('function');
  });

  for (const simd of [true, false]) {
    const path = simd ? 'SIMD GEMM' : 'stock kernel';
    it.each(MATMUL_CASES)(`equals the cpu backend with its gradients (${path}): $name`, (m) => {
      setSimdGemmEnabled(simd);
      try {
        const ref = reference.get(m.name)!;
        const got = runMatMul(m);
        expect(got.shape).toEqual(ref.shape);
        expect(maxError(got.c, ref.c)).toBeLessThan(1e-5);
        expect(maxError(got.da, ref.da)).toBeLessThan(1e-5);
        expect(maxError(got.db, ref.db)).toBeLessThan(1e-5);
      } finally {
        setSimdGemmEnabled(true);
      }
    });
  }

  it('refuses mismatched inner sizes with both shapes in the message, leaving nothing behind', () => {
    const a = tf.zeros([3, 4]);
    const b = tf.zeros([5, 2]);
    const tensors = tf.memory().numTensors;
    expect(() => tf.matMul(a, b)).toThrow(/inner shapes \(4\) and \(5\).*3,4.*5,2/);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([a, b]);
  });

  it.each(HEAD_INPUTS)('DGL head computes its former stock-op composition (XNNPACK and stock kernels): $name', (c) => {
    const ref = headReference.get(c.name)!;
    const head = createDglHead({ inChannels: c.shape[3], classes: 10, seed: 3 });
    const tensors = tf.memory().numTensors;
    const got = runHead(c.shape, (h) => head.apply(h, true), head.trainableVariables);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(maxError(got.logits, ref.logits)).toBeLessThan(1e-4);
    // [0] is the gradient into the backbone (DGL trains the module below with it).
    got.grads.forEach((g, i) => expect(maxError(g, ref.grads[i]!), `gradient ${i}`).toBeLessThan(1e-3));
    head.dispose();
  });
});
