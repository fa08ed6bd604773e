/**
 * The wasm backend's fused training kernels (main/engine/backend/wasm-fused-kernels.ts, SIMD
 * loops of main/engine/backend/simd/kernels.c and their JS fallback) must compute what the cpu
 * backend's stock ops compute: BatchNorm (+ residual, + ReLU) values, running statistics and
 * gradients, the SGD update, and the phase-split convolution input gradient; they must be
 * registered for 'wasm' only, leave nothing behind, and be counted by tf.profile.
 */
import '@tensorflow/tfjs-backend-cpu';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, hasFusedKernel, SGD_UPDATE } from '../../../main/engine/backend/fused-ops';
import { KERNELS_C_SHA256 } from '../../../main/engine/backend/simd/kernels.wasm';
import { initWasmBackend } from '../../../main/engine/backend/wasm-setup';
import { setSimdKernelsEnabled, simdKernels } from '../../../main/engine/backend/wasm-simd';
import { heapBackend } from '../../../main/engine/backend/wasm-heap';
import { BatchNorm } from '../../../main/engine/nets/batch-norm';
import { SgdNesterov, type SgdOptions } from '../../../main/engine/train/sgd';
import { convGrads, type Case } from '../../helpers/conv-cases';
import { maxError, values } from '../../helpers/numeric';

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

interface BnCase {
  name: string;
  x: [number, number, number, number];
  relu: boolean;
  residual: boolean;
}

// Channel counts off and on multiples of 4 (the SIMD loops' tail), batch 1, odd sizes.
const BN_CASES: BnCase[] = [
  { name: 'C=16, relu', x: [2, 3, 3, 16], relu: true, residual: false },
  { name: 'C=5, no relu', x: [3, 4, 5, 5], relu: false, residual: false },
  { name: 'C=7, residual + relu, batch 1', x: [1, 3, 5, 7], relu: true, residual: true },
  { name: 'C=8, residual, no relu', x: [2, 2, 3, 8], relu: false, residual: true },
  { name: 'C=1, relu, 2 values', x: [2, 1, 1, 1], relu: true, residual: false },
];

interface BnResult {
  y: Float32Array;
  runningMean: Float32Array;
  runningVar: Float32Array;
  grads: Float32Array[];
}

/** Two training-mode forwards (running stats move twice) and d/d(x, gamma, beta, residual) of sum(y * r). */
function runBatchNorm(c: BnCase): BnResult {
  const channels = c.x[3];
  const bn = new BatchNorm(channels);
  const [x, residual, r] = tf.tidy(() => [
    tf.variable(tf.tensor(values(size(c.x), 21), c.x), true),
    tf.variable(tf.tensor(values(size(c.x), 22), c.x), true),
    tf.tensor(values(size(c.x), 23), c.x),
  ]);
  tf.tidy(() => {
    bn.gamma.assign(tf.add(tf.tensor1d(values(channels, 24)), 1.5));
    bn.beta.assign(tf.tensor1d(values(channels, 25)));
  });
  const apply = () => bn.apply(x as tf.Tensor4D, true, { relu: c.relu, residual: c.residual ? (residual as tf.Tensor4D) : undefined });
  tf.dispose(apply());
  const variables = [x, bn.gamma, bn.beta, ...(c.residual ? [residual] : [])];
  let y: Float32Array = new Float32Array();
  const { value, grads } = tf.variableGrads(() => {
    const out = apply();
    y = out.dataSync() as Float32Array;
    return tf.sum(tf.mul(out, r));
  }, variables);
  const result: BnResult = {
    y,
    runningMean: bn.runningMean.dataSync() as Float32Array,
    runningVar: bn.runningVar.dataSync() as Float32Array,
    grads: variables.map((v) => grads[v.name]!.dataSync() as Float32Array),
  };
  tf.dispose([value, ...Object.values(grads), x, residual, r]);
  bn.dispose();
  return result;
}

const SGD_CASES: { name: string; options: SgdOptions }[] = [
  { name: 'nesterov, weight decay', options: { lr: 0.1, momentum: 0.9, weightDecay: 1e-4, nesterov: true } },
  { name: 'plain momentum, dampening', options: { lr: 0.05, momentum: 0.8, weightDecay: 0.01, nesterov: false, dampening: 0.3 } },
  { name: 'no momentum, no decay', options: { lr: 0.2, momentum: 0, weightDecay: 0, nesterov: false } },
];

/** Four steps on two parameters (7 values: the SIMD loop's tail; 2x3x4), changing lr once. */
function runSgd(options: SgdOptions): { params: Float32Array[]; state: ReturnType<SgdNesterov['getState']> } {
  const params = tf.tidy(() => [tf.variable(tf.tensor1d(values(7, 31))), tf.variable(tf.tensor3d(values(24, 32), [2, 3, 4]))]);
  const sgd = new SgdNesterov(options);
  for (let step = 0; step < 4; step++) {
    if (step === 2) sgd.setLearningRate(options.lr / 2);
    const grads = new Map(params.map((p, i) => [p, tf.tensor(values(p.size, 40 + 10 * step + i), p.shape)] as [tf.Variable, tf.Tensor]));
    sgd.step(grads);
    tf.dispose([...grads.values()]);
  }
  const out = { params: params.map((p) => p.dataSync() as Float32Array), state: sgd.getState(params) };
  sgd.dispose();
  tf.dispose(params);
  return out;
}

// Geometries of the phase-split input gradient beyond test/helpers/conv-cases.ts: stride 3,
// filter smaller than the stride, 1x1 stride 2 on even and odd sizes, batch 1, strides [2, 1].
const CONV_CASES: Case[] = [
  { name: "3x3 stride 3 'same'", x: [1, 9, 8, 3], w: [3, 3, 3, 5], strides: 3, pad: 'same' },
  { name: "2x2 stride 3 'valid' (phases without taps)", x: [2, 8, 7, 2], w: [2, 2, 2, 3], strides: 3, pad: 'valid' },
  { name: "1x1 stride 2 'valid', even 8x8, batch 1", x: [1, 8, 8, 5], w: [1, 1, 5, 6], strides: 2, pad: 'valid' },
  { name: "3x3 stride 2, PyTorch pad 1, 6x6 (ResNet downsampling)", x: [2, 6, 6, 4], w: [3, 3, 4, 8], strides: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { name: "strides [2, 1], 'same', odd", x: [1, 7, 5, 3], w: [3, 3, 3, 2], strides: [2, 1], pad: 'same' },
];

function dataIds(): number {
  return (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();
}

describe('wasm fused training kernels', () => {
  const bnRef = new Map<string, BnResult>();
  const sgdRef = new Map<string, ReturnType<typeof runSgd>>();
  const convRef = new Map<string, Awaited<ReturnType<typeof convGrads>>>();

  beforeAll(async () => {
    await tf.setBackend('cpu');
    expect(hasFusedKernel(BATCH_NORM_TRAIN)).toBe(false);
    for (const c of BN_CASES) bnRef.set(c.name, runBatchNorm(c));
    for (const c of SGD_CASES) sgdRef.set(c.name, runSgd(c.options));
    for (const c of CONV_CASES) convRef.set(c.name, await convGrads(c));
    await initWasmBackend();
  });

  afterEach(() => setSimdKernelsEnabled(true));

  afterAll(async () => {
    setSimdKernelsEnabled(true);
    await tf.setBackend('cpu');
  });

  it('are registered for wasm only, and the SIMD module links to the wasm heap', () => {
    for (const name of [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, SGD_UPDATE]) {
      expect(tf.getKernel(name, 'wasm')).toBeDefined();
      expect(tf.getKernel(name, 'cpu')).toBeUndefined();
    }
    expect(simdKernels(heapBackend(tf.engine().backend, 'test'))).not.toBeNull();
  });

  it('ship a SIMD module built from the current kernels.c (node main/engine/backend/simd/build.mjs)', () => {
    const source = readFileSync(path.resolve('main/engine/backend/simd/kernels.c'));
    expect(createHash('sha256').update(source).digest('hex')).toBe(KERNELS_C_SHA256);
  });

  for (const simd of [true, false]) {
    const loops = simd ? 'SIMD' : 'JS';
    it.each(BN_CASES)(`BatchNorm equals the cpu backend (${loops} loops): $name`, (c) => {
      setSimdKernelsEnabled(simd);
      const ref = bnRef.get(c.name)!;
      const got = runBatchNorm(c);
      expect(maxError(got.y, ref.y)).toBeLessThan(1e-5);
      expect(maxError(got.runningMean, ref.runningMean)).toBeLessThan(1e-6);
      expect(maxError(got.runningVar, ref.runningVar)).toBeLessThan(1e-6);
      got.grads.forEach((g, i) => expect(maxError(g, ref.grads[i]!), `gradient ${i}`).toBeLessThan(1e-4));
    });

    it.each(SGD_CASES)(`SGD equals the composed update exactly (${loops} loops): $name`, (c) => {
      setSimdKernelsEnabled(simd);
      const ref = sgdRef.get(c.name)!;
      const got = runSgd(c.options);
      got.params.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(ref.params[i]!)));
      // The checkpoint format is unchanged.
      expect(got.state.step).toBe(ref.state.step);
      expect(got.state.buffers.map((b) => [b.index, b.shape, b.values])).toEqual(ref.state.buffers.map((b) => [b.index, b.shape, b.values]));
    });

    it.each(CONV_CASES)(`conv input/filter gradients equal the cpu backend (${loops} interleave): $name`, async (c) => {
      setSimdKernelsEnabled(simd);
      const ref = convRef.get(c.name)!;
      const got = await convGrads(c);
      expect(maxError(got.dx, ref.dx)).toBeLessThan(1e-4);
      expect(maxError(got.dw, ref.dw)).toBeLessThan(1e-4);
    });
  }

  it('leave no tensor and no wasm buffer behind, and tf.profile counts their outputs', async () => {
    const c = BN_CASES[2]!;
    runBatchNorm(c);
    runSgd(SGD_CASES[0]!.options);
    const tensors = tf.memory().numTensors;
    const buffers = dataIds();
    for (let i = 0; i < 2; i++) {
      runBatchNorm(c);
      runSgd(SGD_CASES[0]!.options);
    }
    expect(tf.memory().numTensors).toBe(tensors);
    expect(dataIds()).toBe(buffers);

    const x = tf.tensor4d(values(2 * 4 * 4 * 8, 5), [2, 4, 4, 8]);
    const bn = new BatchNorm(8);
    const info = await tf.profile(() => tf.dispose(bn.apply(x, true, { relu: true })));
    const kernel = info.kernels.find((k) => k.name === BATCH_NORM_TRAIN);
    expect(kernel, 'the fused kernel ran').toBeDefined();
    // y (2*4*4*8 floats) + 4 per-channel outputs, counted as new bytes of the kernel.
    expect(kernel!.bytesAdded).toBe((2 * 4 * 4 * 8 + 4 * 8) * 4);
    bn.dispose();
    x.dispose();
  });

  it('refuse a single value per channel, as PyTorch does', () => {
    const x = tf.zeros([1, 1, 1, 4]);
    const [g, b, m, v] = [tf.ones([4]), tf.zeros([4]), tf.zeros([4]), tf.ones([4])];
    expect(() => tf.engine().runKernel(BATCH_NORM_TRAIN, { x, gamma: g, beta: b, runningMean: m, runningVar: v }, { epsilon: 1e-5, momentum: 0.1, relu: false, residual: false }))
      .toThrow(/more than 1 value per channel.*\[1,1,1,4\]/);
    tf.dispose([x, g, b, m, v]);
  });
});
