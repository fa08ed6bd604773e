/**
 * The trainable ResNet (main/engine/nets/resnet-model.ts) must be exactly the network that
 * shared/engine/resnet.ts describes (parameters and shapes, unit by unit), must be seeded the
 * same on every backend, must compute the same on cpu and wasm, must follow PyTorch's BatchNorm,
 * and must learn from real digits without leaking tensors.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradients by itself; this is the smallest import that does.
import '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../main/engine/backend/select';
import { BatchNorm } from '../../../main/engine/nets/batch-norm';
import { createResNet, type ResNetModel } from '../../../main/engine/nets/resnet-model';
import { iterateBatches } from '../../../main/data/batches';
import { openMnist } from '../../../main/data/mnist';
import { describeResNet, type InputShape } from '../../../shared/engine/resnet';
import { maxError, values } from '../../helpers/numeric';

const CIFAR: InputShape = { height: 32, width: 32, channels: 3 };
const MNIST: InputShape = { height: 28, width: 28, channels: 1 };


const variableValues = (model: ResNetModel): Float32Array[] => model.trainableVariables().map((v) => v.dataSync() as Float32Array);


beforeAll(async () => {
  await selectBackend('wasm');
});

afterAll(async () => {
  await selectBackend('cpu');
});

describe('createResNet matches describeResNet', () => {
  it.each([
    [8, CIFAR],
    [8, MNIST],
    [20, CIFAR],
    [20, MNIST],
  ])('ResNet-%i on %o: trainable parameters per unit', (depth, input) => {
    const described = describeResNet(depth, input, 10);
    const model = createResNet(depth, input, 10, 1);
    expect(model.units.map((u) => u.unit)).toEqual(described);
    model.units.forEach((u, i) => {
      const count = u.trainableVariables.reduce((sum, v) => sum + v.size, 0);
      expect(count, `unit ${i} (${u.unit.kind} stage ${u.unit.stage} block ${u.unit.block})`).toBe(described[i]!.params);
      expect(u.trainableVariables.every((v) => v.trainable)).toBe(true);
      expect(u.stateVariables.every((v) => !v.trainable)).toBe(true);
    });
    expect(model.trainableVariables().length).toBe(model.units.reduce((n, u) => n + u.trainableVariables.length, 0));
    const before = tf.memory().numTensors;
    model.dispose();
    expect(tf.memory().numTensors).toBeLessThan(before);
  });

  it.each([
    [8, MNIST, true],
    [20, CIFAR, false],
    [20, CIFAR, true],
  ])('ResNet-%i on %o: each unit outputs the described shape (training %s)', (depth, input, training) => {
    const described = describeResNet(depth, input, 7);
    const model = createResNet(depth, input, 7, 2);
    const tensors = tf.memory().numTensors;
    const shapes = tf.tidy(() => {
      let h: tf.Tensor = tf.tensor4d(values(3 * input.height * input.width * input.channels, 5), [3, input.height, input.width, input.channels]);
      return model.units.map((u) => {
        h = u.apply(h as tf.Tensor4D, training);
        return h.shape;
      });
    });
    expect(shapes).toEqual(described.map((u) => [3, ...u.output]));
    expect(tf.memory().numTensors).toBe(tensors);
    model.dispose();
  });

  it('refuses inputs of the wrong shape with the shapes in the message', () => {
    const model = createResNet(8, CIFAR, 10, 1);
    const x = tf.zeros([2, 32, 32, 1]) as tf.Tensor4D;
    expect(() => model.units[0]!.apply(x, false)).toThrow(/stem.*\[N, H, W, 3\], got \[2,32,32,1\]/);
    expect(() => model.units[2]!.apply(x, false)).toThrow(/block \(stage 2, block 0\).*\[N, H, W, 16\], got \[2,32,32,1\]/);
    x.dispose();
    model.dispose();
    expect(() => createResNet(8, CIFAR, 10, 1.5)).toThrow(/seed must be an integer, got 1.5/);
    expect(() => createResNet(9, CIFAR, 10, 1)).toThrow(/ResNet-9 is not available/);
  });
});

describe('initialisation', () => {
  it('same seed gives identical weights, another seed different ones', () => {
    const a = createResNet(8, CIFAR, 10, 42);
    const b = createResNet(8, CIFAR, 10, 42);
    const c = createResNet(8, CIFAR, 10, 43);
    const [va, vb, vc] = [variableValues(a), variableValues(b), variableValues(c)];
    va.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(vb[i]!)));
    // Every random parameter (conv and linear) differs; BN gamma/beta are constants.
    const random = va.map((v, i) => v.some((x) => x !== 0 && x !== 1) || vc[i]!.some((x) => x !== 0 && x !== 1));
    // The conv filters plus the head's weight and bias.
    expect(random.filter(Boolean).length).toBe(a.trainableVariables().filter((v) => v.rank === 4).length + 2);
    va.forEach((v, i) => {
      if (random[i]) expect(Array.from(v)).not.toEqual(Array.from(vc[i]!));
      else expect(Array.from(v)).toEqual(Array.from(vc[i]!));
    });
    [a, b, c].forEach((m) => m.dispose());
  });

  it('follows methods.md 0.1: conv N(0, 2/(k*k*C_out)), BN 1/0, linear U(+-1/sqrt(fan_in))', () => {
    const model = createResNet(20, CIFAR, 10, 9);
    const head = model.units.at(-1)!;
    const [w, bias] = head.trainableVariables.map((v) => v.dataSync() as Float32Array);
    for (const v of [w!, bias!]) {
      expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(1 / 8);
      expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(0.1);
    }
    expect(head.trainableVariables[0]!.shape).toEqual([64, 10]);
    for (const v of model.trainableVariables()) {
      const data = v.dataSync() as Float32Array;
      if (v.rank === 4) {
        const [k, , , cout] = v.shape as number[];
        const std = Math.sqrt(data.reduce((s, x) => s + x * x, 0) / data.length);
        const mean = data.reduce((s, x) => s + x, 0) / data.length;
        const expected = Math.sqrt(2 / (k! * k! * cout!));
        // Four standard errors: loose for the stem and 1x1 convs (a few hundred values), tight for the big ones.
        expect(Math.abs(std / expected - 1), `conv ${v.shape.join('x')} std ${std} vs ${expected}`).toBeLessThan(4 / Math.sqrt(2 * data.length));
        expect(Math.abs(mean) / expected, `conv ${v.shape.join('x')} mean ${mean}`).toBeLessThan(4 / Math.sqrt(data.length));
      }
    }
    const bnValues = model.units[1]!.trainableVariables.filter((v) => v.rank === 1).map((v) => Array.from(v.dataSync()));
    expect(bnValues).toEqual([new Array(16).fill(1), new Array(16).fill(0), new Array(16).fill(1), new Array(16).fill(0)]);
    model.dispose();
  });
});

describe('backends', () => {
  it('cpu and wasm build the same weights and compute the same forward (training and eval) and gradients', async () => {
    const run = () => {
      const model = createResNet(8, CIFAR, 10, 11);
      const weights = variableValues(model);
      const [train, evaluation] = tf.tidy(() => {
        const x = tf.tensor4d(values(4 * 32 * 32 * 3, 17), [4, 32, 32, 3]);
        // Training first: it moves the running statistics that eval then uses.
        return [model.forward(x, true), model.forward(x, false)];
      });
      // Gradients of a training-mode loss with respect to every trainable variable; on smaller
      // images (the convs and GAP take any size), as the cpu backend's conv gradients are slow.
      const { value, grads } = tf.variableGrads(() => {
        const x = tf.tensor4d(values(3 * 12 * 12 * 3, 19), [3, 12, 12, 3]);
        return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([0, 3, 9], 'int32'), 10), model.forward(x, true)) as tf.Scalar;
      }, model.trainableVariables());
      const gradients = model.trainableVariables().map((v) => grads[v.name]!.dataSync() as Float32Array);
      const out = { weights, train: train.dataSync() as Float32Array, evaluation: evaluation.dataSync() as Float32Array, state: model.stateVariables().map((v) => v.dataSync() as Float32Array), gradients };
      tf.dispose([train, evaluation, value, ...Object.values(grads)]);
      model.dispose();
      return out;
    };
    await selectBackend('cpu');
    const cpu = run();
    await selectBackend('wasm');
    const wasm = run();
    cpu.weights.forEach((w, i) => expect(Array.from(wasm.weights[i]!)).toEqual(Array.from(w)));
    expect(maxError(wasm.train, cpu.train)).toBeLessThan(1e-4);
    expect(maxError(wasm.evaluation, cpu.evaluation)).toBeLessThan(1e-4);
    cpu.state.forEach((s, i) => expect(maxError(wasm.state[i]!, s)).toBeLessThan(1e-4));
    expect(wasm.gradients.length).toBe(cpu.gradients.length);
    cpu.gradients.forEach((g, i) => expect(maxError(wasm.gradients[i]!, g), `gradient ${i}`).toBeLessThan(1e-4));
    // The eval forward really differs from training (running stats, not batch stats).
    expect(maxError(cpu.evaluation, cpu.train)).toBeGreaterThan(1e-3);
  });
});

describe('BatchNorm (PyTorch semantics)', () => {
  const [n, h, w, c] = [4, 3, 5, 2];
  /** Channel 0 ~ 2 + 3u, channel 1 ~ -1 + 0.5u. */
  const input = () => tf.tidy(() => tf.add(tf.mul(tf.tensor4d(values(n * h * w * c, 23), [n, h, w, c]), tf.tensor1d([3, 0.5])), tf.tensor1d([2, -1])) as tf.Tensor4D);

  /** Per-channel mean and biased variance of NHWC data. */
  function stats(data: Float32Array): { mean: number[]; biased: number[]; unbiased: number[] } {
    const count = data.length / c;
    const mean = [0, 0];
    const sq = [0, 0];
    data.forEach((v, i) => (mean[i % c]! += v / count));
    data.forEach((v, i) => (sq[i % c]! += (v - mean[i % c]!) ** 2));
    return { mean, biased: sq.map((s) => s / count), unbiased: sq.map((s) => s / (count - 1)) };
  }

  it('normalises with batch statistics in training and moves the running stats by 0.1 toward mean and unbiased variance', () => {
    const bn = new BatchNorm(c);
    const x = input();
    const xs = stats(x.dataSync() as Float32Array);
    const y = bn.apply(x, true);
    const ys = stats(y.dataSync() as Float32Array);
    for (let ch = 0; ch < c; ch++) {
      expect(Math.abs(ys.mean[ch]!)).toBeLessThan(1e-5);
      // var / (var + eps), with eps 1e-5
      expect(ys.biased[ch]!).toBeCloseTo(xs.biased[ch]! / (xs.biased[ch]! + 1e-5), 5);
    }
    const runningMean = Array.from(bn.runningMean.dataSync());
    const runningVar = Array.from(bn.runningVar.dataSync());
    for (let ch = 0; ch < c; ch++) {
      expect(runningMean[ch]!).toBeCloseTo(0.1 * xs.mean[ch]!, 5);
      expect(runningVar[ch]!).toBeCloseTo(0.9 + 0.1 * xs.unbiased[ch]!, 5);
    }
    // A second training forward moves them again, from where they are.
    tf.dispose(bn.apply(x, true));
    const again = Array.from(bn.runningVar.dataSync());
    for (let ch = 0; ch < c; ch++) expect(again[ch]!).toBeCloseTo(0.9 * runningVar[ch]! + 0.1 * xs.unbiased[ch]!, 5);
    tf.dispose([x, y]);
    bn.dispose();
  });

  it('uses the running statistics and gamma/beta in eval mode, and leaves them unchanged', () => {
    const bn = new BatchNorm(c);
    bn.runningMean.assign(tf.tensor1d([1.5, -0.5]));
    bn.runningVar.assign(tf.tensor1d([4, 0.25]));
    bn.gamma.assign(tf.tensor1d([2, 0.5]));
    bn.beta.assign(tf.tensor1d([0.1, -0.2]));
    const x = input();
    const y = bn.apply(x, false);
    const xd = x.dataSync();
    const yd = y.dataSync();
    const [rm, rv, g, b] = [[1.5, -0.5], [4, 0.25], [2, 0.5], [0.1, -0.2]];
    for (let i = 0; i < xd.length; i++) {
      const ch = i % c;
      expect(yd[i]!).toBeCloseTo(((xd[i]! - rm[ch]!) / Math.sqrt(rv[ch]! + 1e-5)) * g[ch]! + b[ch]!, 5);
    }
    expect(Array.from(bn.runningMean.dataSync())).toEqual([1.5, -0.5]);
    expect(Array.from(bn.runningVar.dataSync())).toEqual([4, 0.25]);
    tf.dispose([x, y]);
    bn.dispose();
  });

  it('differentiates gamma and beta (not the running stats), and refuses bad input', () => {
    const bn = new BatchNorm(c);
    const x = input();
    const r = tf.tensor4d(values(n * h * w * c, 29), [n, h, w, c]);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(bn.apply(x, true), r)), bn.trainableVariables);
    expect(Object.keys(grads).sort()).toEqual([bn.gamma.name, bn.beta.name].sort());
    // d/d beta = sum of r over N, H, W.
    const rd = r.dataSync();
    const expected = [0, 0];
    rd.forEach((v, i) => (expected[i % c]! += v));
    const dBeta = grads[bn.beta.name]!.dataSync();
    for (let ch = 0; ch < c; ch++) expect(dBeta[ch]!).toBeCloseTo(expected[ch]!, 4);
    tf.dispose([value, x, r, ...Object.values(grads)]);
    const one = tf.zeros([1, 1, 1, c]) as tf.Tensor4D;
    expect(() => bn.apply(one, true)).toThrow(/more than 1 value per channel.*\[1,1,1,2\]/);
    const wrong = tf.zeros([2, 2, 2, 3]) as tf.Tensor4D;
    expect(() => bn.apply(wrong, false)).toThrow(/expects 2 channels.*\[2,2,2,3\]/);
    tf.dispose([one, wrong]);
    bn.dispose();
    expect(() => new BatchNorm(0)).toThrow(/positive whole number of channels, got 0/);
  });
});

describe('training', () => {
  it('a few SGD steps of ResNet-8 on 32 real MNIST digits lower the loss, leaking no tensor', async () => {
    await selectBackend('wasm');
    const dataset = openMnist();
    const batches = iterateBatches(dataset, 'train', { batchSize: 32, shuffle: true, seed: 1, epoch: 0, augment: false, limit: 32 });
    const batch = (await batches.next()).value!;
    expect(batch.size).toBe(32);
    const start = tf.memory().numTensors;
    const model = createResNet(8, MNIST, 10, 5);
    const x = tf.tensor4d(batch.x, [32, 28, 28, 1]);
    const labels = tf.tidy(() => tf.oneHot(tf.tensor1d(batch.y, 'int32'), 10));
    const optimizer = tf.train.sgd(0.2);
    const variables = model.trainableVariables();
    const losses: number[] = [];
    let perStep = -1;
    for (let step = 0; step < 8; step++) {
      const cost = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, model.forward(x, true)) as tf.Scalar, true, variables)!;
      losses.push(cost.dataSync()[0]!);
      cost.dispose();
      if (step === 0) perStep = tf.memory().numTensors;
      else expect(tf.memory().numTensors, `tensors after step ${step}`).toBe(perStep);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!, `losses ${losses.join(', ')}`).toBeLessThan(losses[0]! * 0.85);
    optimizer.dispose();
    tf.dispose([x, labels]);
    model.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });
});
