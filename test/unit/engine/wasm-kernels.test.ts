/**
 * The wasm backend's convolution gradients (main/engine/backend/wasm-training-kernels.ts) must
 * equal the cpu backend's reference kernels for every geometry a conv net uses, on both filter
 * gradient paths (the SIMD GEMM of simd/kernels.c, and the XNNPACK one it falls back to), must
 * leave no tensor behind, and must let a tiny conv net learn.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradients by itself; this is the smallest import that does.
import '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initWasmBackend } from '../../../main/engine/backend/wasm-setup';
import { setSimdGemmEnabled } from '../../../main/engine/backend/wasm-simd';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from '../../../main/engine/backend/wasm-training-kernels';
import { type Case, CASES, convGrads, type Grads } from '../../helpers/conv-cases';
import { maxError, values } from '../../helpers/numeric';

function dataIds(): number {
  return (tf.engine().backend as unknown as { numDataIds(): number }).numDataIds();
}

const STEPS = 30;
const LEARNING_RATE = 0.5;
const wasm1 = { tensors: 0, buffers: 0 };

/**
 * A few SGD steps of conv 3x3/2 -> relu -> conv 3x3 -> relu -> spatial mean -> dense (4 classes)
 * on 8 fixed random images, on the active backend; disposes everything it made.
 */
function trainTinyNet(steps: number, afterStep?: () => void): { losses: number[] } {
  const n = 8;
  const images = tf.tensor4d(values(n * 8 * 8 * 1, 11), [n, 8, 8, 1]);
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], 'int32'), 4));
  const [w1, w2, dense] = tf.tidy((): [tf.Variable<tf.Rank.R4>, tf.Variable<tf.Rank.R4>, tf.Variable<tf.Rank.R2>] => [
    tf.variable(tf.tensor4d(values(9 * 8, 12), [3, 3, 1, 8])),
    tf.variable(tf.mul(tf.tensor4d(values(9 * 8 * 8, 13), [3, 3, 8, 8]), 0.3)),
    tf.variable(tf.tensor2d(values(8 * 4, 14), [8, 4])),
  ]);
  const loss = (): tf.Scalar => {
    const h1 = tf.relu(tf.conv2d(images, w1, 2, 'same'));
    const h2 = tf.relu(tf.conv2d(h1, w2, 1, 'same'));
    const logits = tf.matMul(tf.mean(h2, [1, 2]), dense);
    return tf.mean(tf.sum(tf.mul(labels, tf.neg(tf.logSoftmax(logits))), 1));
  };
  const optimizer = tf.train.sgd(LEARNING_RATE);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const cost = optimizer.minimize(loss, true, [w1, w2, dense])!;
    losses.push(cost.dataSync()[0]!);
    cost.dispose();
    if (step === 0) {
      wasm1.tensors = tf.memory().numTensors;
      wasm1.buffers = dataIds();
    } else afterStep?.();
  }
  optimizer.dispose();
  tf.dispose([images, labels, w1, w2, dense]);
  return { losses };
}

/**
 * Geometries where the SIMD filter gradient splits its work into several chunks (see chunkOf in
 * wasm-training-kernels.ts: about 16384 floats of x and dy per chunk): rows of one image with a
 * short last chunk, and whole images with a short last chunk; channel counts off the 4 x 8 tile.
 */
const CHUNKED: Case[] = [
  { name: 'chunks of 6 rows of a wide image, 7 rows (last chunk 1 row), stride 1', x: [1, 7, 40, 32], w: [3, 3, 32, 32], strides: 1, pad: 'same' },
  { name: 'chunks of 42 whole images, 45 images (last chunk 3), valid, C 19 -> 11', x: [45, 5, 5, 19], w: [3, 3, 19, 11], strides: 1, pad: 'valid' },
  { name: 'chunks of 8 rows at stride 2 (9 rows), explicit padding, C 9 -> 6', x: [2, 17, 97, 9], w: [3, 3, 9, 6], strides: 2, pad: [[0, 0], [2, 0], [1, 1], [0, 0]] },
];

describe('wasm convolution gradients', () => {
  const reference = new Map<string, Grads>();

  beforeAll(async () => {
    await tf.setBackend('cpu');
    for (const c of [...CASES, ...CHUNKED]) reference.set(c.name, await convGrads(c));
    await initWasmBackend();
  });

  afterAll(async () => {
    setSimdGemmEnabled(true);
    await tf.setBackend('cpu');
  });

  it('register on wasm, idempotently', () => {
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    expect(tf.getBackend()).toBe('wasm');
    // Ours, not the stock (slow) Conv2DBackpropInput, BatchMatMul and (copying) Identity.
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBe(WASM_TRAINING_KERNELS[0]);
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).toBe(WASM_TRAINING_KERNELS[1]);
    for (const name of ['BatchMatMul', 'Identity']) expect(tf.getKernel(name, 'wasm')).toBe(WASM_TRAINING_KERNELS.find((k) => k.kernelName === name));
  });

  for (const simd of [true, false]) {
    const path = simd ? 'SIMD GEMM filter gradient' : 'XNNPACK filter gradient';
    it.each([...CASES, ...CHUNKED])(`equal the cpu backend (${path}): $name`, async (c) => {
      setSimdGemmEnabled(simd);
      try {
        const ref = reference.get(c.name)!;
        const got = await convGrads(c);
        const dxErr = maxError(got.dx, ref.dx);
        const dwErr = maxError(got.dw, ref.dw);
        expect(dxErr, `dx error ${dxErr}`).toBeLessThan(1e-4);
        expect(dwErr, `dw error ${dwErr}`).toBeLessThan(1e-4);
      } finally {
        setSimdGemmEnabled(true);
      }
    });
  }

  it('compute the filter gradient without XNNPACK while the SIMD module links, and with it when the GEMM is off', () => {
    // Count calls of the stock Transpose and Conv2D, which only the XNNPACK path makes.
    const counted = ['Transpose', 'Conv2D'].map((name) => tf.getKernel(name, 'wasm')!);
    let calls = 0;
    const originals = counted.map((config) => config.kernelFunc);
    counted.forEach((config, i) => {
      (config as { kernelFunc: tf.KernelFunc }).kernelFunc = (args) => {
        calls++;
        return originals[i]!(args);
      };
    });
    const dwCalls = (): number => {
      calls = 0;
      tf.tidy(() => tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.ones([2, 6, 6, 3]), dy: tf.ones([2, 3, 3, 4]) }, { filterShape: [3, 3, 3, 4], strides: 2, pad: 'same', dataFormat: 'NHWC' }));
      return calls;
    };
    try {
      expect(dwCalls()).toBe(0);
      setSimdGemmEnabled(false);
      expect(dwCalls()).toBeGreaterThan(0);
    } finally {
      setSimdGemmEnabled(true);
      counted.forEach((config, i) => ((config as { kernelFunc: tf.KernelFunc }).kernelFunc = originals[i]!));
    }
  });

  it('leave no tensor and no wasm buffer behind', async () => {
    const c = CASES[1]!;
    await convGrads(c);
    const tensors = tf.memory().numTensors;
    const buffers = dataIds();
    for (let i = 0; i < 3; i++) await convGrads(c);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(dataIds()).toBe(buffers);
  });

  it('replace the forward convolution (direct SIMD; dilated ones fall back to XNNPACK), equal to the cpu backend', async () => {
    expect(tf.getKernel('Conv2D', 'wasm')).toBe(WASM_TRAINING_KERNELS.find((k) => k.kernelName === 'Conv2D'));
    const cases: { x: [number, number, number, number]; w: [number, number, number, number]; strides: number; pad: 'same' | 'valid'; dilations: number }[] = [
      { x: [2, 9, 7, 5], w: [3, 3, 5, 6], strides: 2, pad: 'same', dilations: 1 },
      { x: [1, 5, 11, 3], w: [1, 3, 3, 9], strides: 1, pad: 'valid', dilations: 1 },
      { x: [1, 8, 8, 2], w: [3, 3, 2, 4], strides: 1, pad: 'same', dilations: 2 },
      // One output channel (a decoder's image): dot products over the channels, 4 outputs at a
      // time, then the row's last ones (width 7 and 6); 12 channels whole vectors, 5 with a tail.
      { x: [2, 7, 7, 12], w: [3, 3, 12, 1], strides: 1, pad: 'same', dilations: 1 },
      { x: [1, 9, 13, 5], w: [3, 3, 5, 1], strides: 2, pad: 'valid', dilations: 1 },
      // 12 output channels: the last 12 columns in 3-row x 12-column tiles (7 outputs a row: 3 + 3 + 1).
      { x: [2, 7, 7, 5], w: [3, 3, 5, 12], strides: 1, pad: 'same', dilations: 1 },
    ];
    const run = () => cases.map((c) => tf.tidy(() => tf.conv2d(tf.tensor4d(values(c.x.reduce((a, b) => a * b), 5), c.x), tf.tensor4d(values(c.w.reduce((a, b) => a * b), 6), c.w), c.strides, c.pad, 'NHWC', c.dilations).dataSync() as Float32Array));
    await tf.setBackend('cpu');
    const ref = run();
    await tf.setBackend('wasm');
    run().forEach((got, i) => expect(maxError(got, ref[i]!), `case ${i}`).toBeLessThan(1e-5));
  });

  it('clone without copying (Identity shares the buffer), and a clone outlives its original', () => {
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    const buffers = dataIds();
    const y = tf.clone(x);
    expect(dataIds()).toBe(buffers);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4]);
    y.dispose();
    expect(dataIds()).toBe(buffers - 1);
    const s = tf.tensor1d(['a', 'b'], 'string');
    const t = tf.clone(s);
    s.dispose();
    expect(t.dataSync()).toEqual(['a', 'b']);
    t.dispose();
  });

  it('reject NCHW and mis-shaped dy with the bad values in the message', () => {
    const dy = tf.zeros([1, 4, 4, 2]);
    const w = tf.zeros([3, 3, 2, 2]);
    expect(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { inputShape: [1, 8, 8, 2], strides: 1, pad: 'same', dataFormat: 'NHWC' }))
      .toThrow(/dy has shape \[1,4,4,2\].*\[1,8,8,2\]/);
    expect(() => tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.zeros([1, 2, 8, 8]), dy }, { filterShape: [3, 3, 2, 2], strides: 1, pad: 'same', dataFormat: 'NCHW' }))
      .toThrow(/'NCHW'/);
    tf.dispose([dy, w]);
  });

  it('train a tiny conv net like the cpu backend: the loss falls and no tensor leaks across steps', async () => {
    await tf.setBackend('cpu');
    const cpu = trainTinyNet(STEPS);
    await tf.setBackend('wasm');
    const tensors = tf.memory().numTensors;
    const buffers = dataIds();
    const wasm = trainTinyNet(STEPS, () => {
      // After the first step (which creates the optimiser's state) every step must free all it makes.
      expect(tf.memory().numTensors).toBe(wasm1.tensors);
      expect(dataIds()).toBe(wasm1.buffers);
    });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(dataIds()).toBe(buffers);
    expect(wasm.losses.every(Number.isFinite)).toBe(true);
    expect(wasm.losses.at(-1)!).toBeLessThan(wasm.losses[0]! * 0.5);
    for (let i = 0; i < STEPS; i++) expect(Math.abs(wasm.losses[i]! - cpu.losses[i]!), `step ${i}`).toBeLessThan(1e-3);
  });
});
