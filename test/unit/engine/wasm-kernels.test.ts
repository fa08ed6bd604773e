/**
 * The wasm backend's convolution gradients (main/engine/backend/wasm-training-kernels.ts) must
 * equal the cpu backend's reference kernels for every geometry a conv net uses, must leave no
 * tensor behind, and must let a tiny conv net learn.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradients by itself; this is the smallest import that does.
import '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initWasmBackend } from '../../../main/engine/backend/wasm-setup';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from '../../../main/engine/backend/wasm-training-kernels';
import { CASES, convGrads, type Grads } from '../../helpers/conv-cases';
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

describe('wasm convolution gradients', () => {
  const reference = new Map<string, Grads>();

  beforeAll(async () => {
    await tf.setBackend('cpu');
    for (const c of CASES) reference.set(c.name, await convGrads(c));
    await initWasmBackend();
  });

  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('register on wasm, idempotently', () => {
    registerWasmTrainingKernels();
    registerWasmTrainingKernels();
    expect(tf.getBackend()).toBe('wasm');
    // Ours, not the stock (slow) Conv2DBackpropInput.
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBe(WASM_TRAINING_KERNELS[0]);
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).toBe(WASM_TRAINING_KERNELS[1]);
  });

  it.each(CASES)('equal the cpu backend: $name', async (c) => {
    const ref = reference.get(c.name)!;
    const got = await convGrads(c);
    const dxErr = maxError(got.dx, ref.dx);
    const dwErr = maxError(got.dw, ref.dw);
    expect(dxErr, `dx error ${dxErr}`).toBeLessThan(1e-4);
    expect(dwErr, `dw error ${dwErr}`).toBeLessThan(1e-4);
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
