/**
 * The auxiliary nets and losses of main/engine/aux (shared/docs/methods.md 0.3, 4.2): the
 * AuxClassifier configs give the spec's shapes and parameter counts, the losses equal plain-JS
 * computations with PyTorch semantics, the decoder and DGL head give the right shapes, every
 * trainable variable is reached by a gradient, nothing leaks, and cpu and wasm agree.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradients by itself; this is the smallest import that does.
import '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../main/engine/backend/select';
import { AUX_CONFIGS, type AuxClassifier, createAuxClassifier, torchConv } from '../../../main/engine/aux/aux-classifier';
import { binaryCrossEntropy, createDecoder, reconstructionLoss } from '../../../main/engine/aux/decoder';
import { adaptiveAvgPool, createDglHead } from '../../../main/engine/aux/dgl-head';
import { crossEntropy, supConLoss } from '../../../main/engine/aux/losses';
import { maxError, values } from '../../helpers/numeric';


const input = (shape: [number, number, number, number], seed: number): tf.Tensor4D => tf.tensor4d(values(shape.reduce((a, b) => a * b, 1), seed), shape);
const paramCount = (m: { trainableVariables: tf.Variable[] }): number => m.trainableVariables.reduce((s, v) => s + v.size, 0);


beforeAll(async () => {
  await selectBackend('wasm');
});

afterAll(async () => {
  await selectBackend('cpu');
});

describe('AuxClassifier', () => {
  // Small feature maps of each stage width; 7 is odd, where PyTorch's pad=1 stride-2 conv gives 4.
  const SPATIAL: Record<number, number> = { 16: 8, 32: 7, 64: 4 };

  it.each([16, 32, 64])('every config gives [N, classes] (cross_entropy) and [N, featureDim] (contrast) for inChannels %i', (inChannels) => {
    const size = SPATIAL[inChannels]!;
    const start = tf.memory().numTensors;
    for (const config of AUX_CONFIGS) {
      for (const [lossMode, out] of [['cross_entropy', 10], ['contrast', 24]] as const) {
        const aux = createAuxClassifier({ inChannels, config, lossMode, classes: 10, featureDim: 24, seed: 3 });
        expect(aux.outputDim).toBe(out);
        const shapes = tf.tidy(() => {
          const h = input([3, size, size, inChannels], 1);
          return [aux.apply(h, true).shape, aux.apply(h, false).shape];
        });
        expect(shapes, `${config} ${lossMode}`).toEqual([[3, out], [3, out]]);
        expect(aux.trainableVariables.every((v) => v.trainable)).toBe(true);
        expect(aux.stateVariables.every((v) => !v.trainable)).toBe(true);
        expect(aux.stateVariables.length).toBe(2 * Number(config[0]));
        aux.dispose();
      }
    }
    expect(tf.memory().numTensors).toBe(start);
  });

  it('has the parameter counts that follow from methods.md 0.3', () => {
    const count = (o: Parameters<typeof createAuxClassifier>[0]) => {
      const aux = createAuxClassifier(o);
      const n = paramCount(aux);
      aux.dispose();
      return n;
    };
    // 1c2f, 16 ch: conv 3*3*16*32 + BN 2*32 + Linear 32*128+128 + Linear 128*10+10.
    expect(count({ inChannels: 16, config: '1c2f', lossMode: 'cross_entropy', classes: 10, seed: 1 })).toBe(4608 + 64 + 4224 + 1290);
    // 0c1f (Greedy SL), 64 ch: Linear 64*10+10.
    expect(count({ inChannels: 64, config: '0c1f', lossMode: 'cross_entropy', classes: 10, seed: 1 })).toBe(650);
    // 2c2f contrast, 32 ch: conv 3*3*32*64 + BN 128 + conv 3*3*64*64 + BN 128 + Linear 64*128+128 + Linear 128*128+128.
    expect(count({ inChannels: 32, config: '2c2f', lossMode: 'contrast', classes: 10, seed: 1 })).toBe(18432 + 128 + 36864 + 128 + 8320 + 16512);
    // 1c3f widen 2, 64 ch (stride 1): conv 3*3*64*128 + BN 256 + Linear 128*256+256 + 256*256+256 + 256*10+10.
    expect(count({ inChannels: 64, config: '1c3f', lossMode: 'cross_entropy', classes: 10, widen: 2, seed: 1 })).toBe(73728 + 256 + 33024 + 65792 + 2570);
    // 0c2f uses d, not d*w: Linear 16*128+128 + Linear 128*128+128.
    expect(count({ inChannels: 16, config: '0c2f', lossMode: 'contrast', classes: 10, widen: 2, seed: 1 })).toBe(2176 + 16512);
  });

  it('has the spec conv widths and strides (2 for 16 and 32 channels, 1 for 64) with PyTorch pad=1', () => {
    for (const [inChannels, width, stride] of [[16, 32, 2], [32, 64, 2], [64, 64, 1]] as const) {
      const aux = createAuxClassifier({ inChannels, config: '1c1f', lossMode: 'cross_entropy', classes: 2, seed: 1 });
      const [w, , , linW, linB] = aux.trainableVariables as [tf.Variable<tf.Rank.R4>, tf.Variable, tf.Variable, tf.Variable<tf.Rank.R2>, tf.Variable];
      expect(w.shape).toEqual([3, 3, inChannels, width]);
      // Eval mode with fresh running stats (0, 1) and gamma 1, beta 0: BN divides by sqrt(1 + eps).
      const [got, same, other] = tf.tidy(() => {
        const h = input([2, 7, 7, inChannels], 2);
        const manual = (s: number) => tf.add(tf.matMul(tf.mean(tf.relu(tf.div(torchConv(h, w, s), Math.sqrt(1 + 1e-5))), [1, 2]) as tf.Tensor2D, linW), linB);
        return [aux.apply(h, false), manual(stride), manual(3 - stride)];
      });
      expect(maxError(got!.dataSync() as Float32Array, same!.dataSync() as Float32Array)).toBeLessThan(1e-5);
      expect(maxError(got!.dataSync() as Float32Array, other!.dataSync() as Float32Array)).toBeGreaterThan(1e-4);
      tf.dispose([got!, same!, other!]);
      aux.dispose();
    }
    const pad = tf.tidy(() => torchConv(tf.ones([1, 7, 7, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 2));
    // PyTorch: floor((7 + 2 - 3) / 2) + 1 = 4, and the top-left output sees a 2x2 window (pad 1 on top/left).
    expect(pad.shape).toEqual([1, 4, 4, 1]);
    expect(Array.from(pad.dataSync()).slice(0, 4)).toEqual([4, 6, 6, 4]);
    pad.dispose();
  });

  it('refuses bad options and inputs, naming the values', () => {
    const base = { inChannels: 16, config: '1c2f', lossMode: 'contrast', classes: 10, seed: 1 } as const;
    expect(() => createAuxClassifier({ ...base, inChannels: 24 })).toThrow(/inChannels 16, 32 or 64.*got 24/);
    expect(() => createAuxClassifier({ ...base, config: '3c1f' as never })).toThrow(/unknown AuxClassifier config '3c1f'/);
    expect(() => createAuxClassifier({ ...base, widen: 0 })).toThrow(/widen must be positive, got 0/);
    expect(() => createAuxClassifier({ ...base, seed: 0.5 })).toThrow(/seed must be an integer, got 0.5/);
    const aux = createAuxClassifier(base);
    const x = tf.zeros([2, 4, 4, 32]) as tf.Tensor4D;
    expect(() => aux.apply(x, false)).toThrow(/expects \[N, H, W, 16\], got \[2,4,4,32\]/);
    x.dispose();
    aux.dispose();
  });
});

describe('losses', () => {
  it('crossEntropy equals a hand computation and stays finite for large logits', () => {
    const rows = [[1, 2, 3], [0, 0, 0], [1000, -1000, 0]];
    const labels = [2, 0, 1];
    const lse = (r: number[]) => {
      const m = Math.max(...r);
      return m + Math.log(r.reduce((s, v) => s + Math.exp(v - m), 0));
    };
    const expected = rows.reduce((s, r, i) => s + lse(r) - r[labels[i]!]!, 0) / 3;
    const logits = tf.tensor2d(rows);
    for (const y of [labels, tf.tensor1d(labels, 'int32')]) {
      const loss = crossEntropy(logits, y);
      expect(loss.dataSync()[0]!).toBeCloseTo(expected, 3);
      loss.dispose();
      if (y instanceof tf.Tensor) y.dispose();
    }
    expect(() => crossEntropy(logits, [2, 0, 3])).toThrow(/label 2 is 3, expected a whole number in \[0, 2\]/);
    expect(() => crossEntropy(logits, [2, 0])).toThrow(/3 samples but 2 labels/);
    logits.dispose();
  });

  /** Straightforward SupCon (methods.md 0.3) in plain JS. */
  function supConReference(f: number[][], labels: number[], tau: number, base: number): number {
    const z = f.map((r) => {
      const norm = Math.max(Math.sqrt(r.reduce((s, v) => s + v * v, 0)), 1e-12);
      return r.map((v) => v / norm);
    });
    const n = z.length;
    let total = 0;
    for (let a = 0; a < n; a++) {
      const sims = z.map((p) => p.reduce((s, v, k) => s + v * z[a]![k]!, 0) / tau);
      const m = Math.max(...sims);
      let denom = 0;
      for (let p = 0; p < n; p++) if (p !== a) denom += Math.exp(sims[p]! - m);
      let sum = 0;
      let positives = 0;
      for (let p = 0; p < n; p++) {
        if (p === a || labels[p] !== labels[a]) continue;
        sum += sims[p]! - m - Math.log(denom);
        positives++;
      }
      total += -(tau / base) * (sum / Math.max(positives, 1));
    }
    return total / n;
  }

  it('supConLoss equals a plain-JS reference, an anchor without positives contributing 0', () => {
    // Sample 3 (label 2) has no positive.
    const labels = [0, 1, 0, 2, 1, 0];
    const f = Array.from({ length: 6 }, (_, i) => Array.from(values(5, 40 + i)).map((v) => 3 * v));
    const features = tf.tensor2d(f);
    for (const [tau, base] of [[0.07, 0.07], [0.5, 0.07]] as const) {
      const loss = supConLoss(features, labels, tau, base);
      expect(loss.dataSync()[0]!).toBeCloseTo(supConReference(f, labels, tau, base), 4);
      loss.dispose();
    }
    // All anchors without positives: exactly 0.
    const none = supConLoss(features, [0, 1, 2, 3, 4, 5]);
    expect(none.dataSync()[0]).toBe(0);
    none.dispose();
    expect(() => supConLoss(tf.zeros([1, 4]) as tf.Tensor2D, [0])).toThrow(/at least 2 samples, got 1/);
    features.dispose();
  });
});

describe('InfoPro decoder', () => {
  const CIFAR_NORM = { mean: [125.3 / 255, 123.0 / 255, 113.9 / 255], std: [63.0 / 255, 62.1 / 255, 66.7 / 255] };

  it('reconstructs at the image size in [0, 1], and its BCE equals a plain-JS computation', () => {
    const decoder = createDecoder({ inChannels: 16, imageHeight: 12, imageWidth: 10, seed: 4 });
    // conv 3*3*16*12 + 12, BN 24, conv 3*3*12*3 + 3.
    expect(paramCount(decoder)).toBe(1740 + 24 + 327);
    const h = input([2, 6, 5, 16], 7);
    // Normalised images: x~ = x * std + mean must lie in [0, 1].
    const xNorm = tf.tidy(() => tf.div(tf.sub(tf.mul(tf.add(input([2, 12, 10, 3], 8), 1), 0.5), CIFAR_NORM.mean), CIFAR_NORM.std) as tf.Tensor4D);
    const decoded = decoder.apply(h, true);
    expect(decoded.shape).toEqual([2, 12, 10, 3]);
    const p = decoded.dataSync() as Float32Array;
    expect(p.every((v) => v >= 0 && v <= 1)).toBe(true);
    const x = xNorm.dataSync();
    let sum = 0;
    for (let i = 0; i < p.length; i++) {
      const c = i % 3;
      const y = x[i]! * CIFAR_NORM.std[c]! + CIFAR_NORM.mean[c]!;
      sum -= y * Math.max(Math.log(p[i]!), -100) + (1 - y) * Math.max(Math.log(1 - p[i]!), -100);
    }
    const loss = reconstructionLoss(decoded, xNorm, CIFAR_NORM);
    expect(loss.dataSync()[0]!).toBeCloseTo(sum / p.length, 4);
    // Same size: the align_corners resize is skipped (it is the identity).
    const same = decoder.apply(input([2, 12, 10, 16], 9), false);
    expect(same.shape).toEqual([2, 12, 10, 3]);
    expect(() => reconstructionLoss(decoded, xNorm, { mean: [0.5], std: [0.5] })).toThrow(/3 channels but the normalisation has 1 means/);
    tf.dispose([h, xNorm, decoded, loss, same]);
    decoder.dispose();
  });

  it('BCE clamps log at -100 and keeps a finite gradient at p = 0 and 1, as torch.nn.BCELoss', () => {
    const p = tf.tensor1d([0, 1, 0.5, 0.9]);
    const y = tf.tensor1d([1, 1, 0.25, 0]);
    const { value, grads } = tf.valueAndGrads((pp: tf.Tensor) => binaryCrossEntropy(pp, y))([p]);
    expect(value.dataSync()[0]!).toBeCloseTo((100 + 0 + Math.log(2) - Math.log(0.1)) / 4, 4);
    const g = Array.from(grads[0]!.dataSync());
    expect(g.every(Number.isFinite)).toBe(true);
    // (p - y) / max(p (1 - p), 1e-12) / 4
    expect(g[1]).toBe(0);
    expect(g[2]!).toBeCloseTo(0.25 / 0.25 / 4, 5);
    expect(g[3]!).toBeCloseTo(0.9 / 0.09 / 4, 3);
    expect(g[0]! / (-1 / 1e-12 / 4)).toBeCloseTo(1, 3);
    tf.dispose([p, y, value, ...grads]);
  });

  it('resizes with align_corners=True (corners kept, centre interpolated)', () => {
    const out = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]), [3, 3], true));
    expect(Array.from(out.dataSync())).toEqual([0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3]);
    out.dispose();
  });
});

describe('DGL head', () => {
  /** torch.nn.AdaptiveAvgPool2d in plain JS on NHWC (N = 1). */
  function adaptiveReference(x: Float32Array, h: number, w: number, c: number, out: number): number[] {
    const result: number[] = [];
    for (let i = 0; i < out; i++) {
      const [r0, r1] = [Math.floor((i * h) / out), Math.ceil(((i + 1) * h) / out)];
      for (let j = 0; j < out; j++) {
        const [c0, c1] = [Math.floor((j * w) / out), Math.ceil(((j + 1) * w) / out)];
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let r = r0; r < r1; r++) for (let q = c0; q < c1; q++) s += x[(r * w + q) * c + ch]!;
          result.push(s / ((r1 - r0) * (c1 - c0)));
        }
      }
    }
    return result;
  }

  it.each([
    [16, 16],
    [7, 7],
    [12, 5],
  ])('adaptive average pool of %i x %i to 8 x 8 equals PyTorch bins', (h, w) => {
    const x = input([1, h, w, 2], 11);
    const pooled = adaptiveAvgPool(x, 8);
    expect(pooled.shape).toEqual([1, 8, 8, 2]);
    expect(maxError(pooled.dataSync() as Float32Array, Float32Array.from(adaptiveReference(x.dataSync() as Float32Array, h, w, 2, 8)))).toBeLessThan(1e-6);
    tf.dispose([x, pooled]);
  });

  it('gives [N, classes] for divisible and other sizes, with the spec parameter count', () => {
    const head = createDglHead({ inChannels: 32, classes: 10, seed: 5 });
    // 1x1 convs 32*128 + 128*128 + 128*128, 3 BN of 128; Linear 128*512+512, 2 x (512*512+512), 3 BN1d of 512; Linear 512*10+10.
    expect(paramCount(head)).toBe(4096 + 16384 + 16384 + 3 * 256 + 66048 + 2 * 262656 + 3 * 1024 + 5130);
    const start = tf.memory().numTensors;
    const shapes = tf.tidy(() => [head.apply(input([3, 16, 16, 32], 12), true).shape, head.apply(input([3, 7, 7, 32], 13), false).shape]);
    expect(shapes).toEqual([[3, 10], [3, 10]]);
    expect(tf.memory().numTensors).toBe(start);
    head.dispose();
  });
});

describe('gradients and memory', () => {
  it('a local InfoPro + DGL loss reaches every trainable variable and leaks nothing', () => {
    const aux = createAuxClassifier({ inChannels: 16, config: '2c2f', lossMode: 'contrast', classes: 10, featureDim: 16, seed: 6 });
    const decoder = createDecoder({ inChannels: 16, imageHeight: 8, imageWidth: 8, seed: 7 });
    const dgl = createDglHead({ inChannels: 16, classes: 10, seed: 8 });
    const h = input([4, 4, 4, 16], 14);
    const x = input([4, 8, 8, 3], 15);
    const labels = [0, 1, 0, 1];
    const norm = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
    const modules = [aux, decoder, dgl];
    const variables = modules.flatMap((m) => m.trainableVariables);
    const step = () => {
      const { value, grads } = tf.variableGrads(
        () => tf.addN([supConLoss(aux.apply(h, true), labels), reconstructionLoss(decoder.apply(h, true), x, norm), crossEntropy(dgl.apply(h, true), labels)]) as tf.Scalar,
        variables,
      );
      const result = { loss: value.dataSync()[0]!, grads: variables.map((v) => grads[v.name]?.dataSync() as Float32Array | undefined) };
      tf.dispose([value, ...Object.values(grads)]);
      return result;
    };
    step();
    const start = tf.memory().numTensors;
    const { loss, grads } = step();
    expect(tf.memory().numTensors).toBe(start);
    expect(Number.isFinite(loss)).toBe(true);
    grads.forEach((g, i) => {
      expect(g, `variable ${i} ${variables[i]!.shape.join('x')}`).toBeDefined();
      expect(g!.every(Number.isFinite)).toBe(true);
    });
    // The aux classifier has no bias ahead of a BN, so every one of its gradients is non-zero.
    // (Biases right before a training-mode BN get an exactly-zero gradient in theory.)
    aux.trainableVariables.forEach((_, i) => expect(grads[i]!.some((v) => v !== 0), `aux variable ${i}`).toBe(true));
    tf.dispose([h, x]);
    const before = tf.memory().numTensors;
    const owned = modules.reduce((n, m) => n + m.trainableVariables.length + m.stateVariables.length, 0);
    for (const m of modules) m.dispose();
    expect(tf.memory().numTensors).toBe(before - owned);
  });
});

describe('backends', () => {
  it('cpu and wasm build the same aux net and agree within 1e-4 on its forward', async () => {
    const run = () => {
      const aux: AuxClassifier = createAuxClassifier({ inChannels: 32, config: '2c2f', lossMode: 'cross_entropy', classes: 10, seed: 21 });
      const weights = aux.trainableVariables.map((v) => v.dataSync() as Float32Array);
      const [train, evaluation] = tf.tidy(() => {
        const h = input([4, 8, 8, 32], 22);
        return [aux.apply(h, true), aux.apply(h, false)];
      });
      const out = { weights, train: train.dataSync() as Float32Array, evaluation: evaluation.dataSync() as Float32Array };
      tf.dispose([train, evaluation]);
      aux.dispose();
      return out;
    };
    await selectBackend('cpu');
    const cpu = run();
    await selectBackend('wasm');
    const wasm = run();
    cpu.weights.forEach((w, i) => expect(Array.from(wasm.weights[i]!)).toEqual(Array.from(w)));
    expect(maxError(wasm.train, cpu.train)).toBeLessThan(1e-4);
    expect(maxError(wasm.evaluation, cpu.evaluation)).toBeLessThan(1e-4);
  });
});
