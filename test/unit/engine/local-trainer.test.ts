/**
 * The trainer on real MNIST digits with ResNet-8 on wasm: module structure per method, gradient
 * isolation (methods.md 6.6), end-to-end equivalence, learning, and memory falling with K.
 */
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { PREPROCESSING } from '../../../main/data/preprocess';
import { selectBackend } from '../../../main/engine/backend/select';
import { measurePeak } from '../../../main/engine/memory/probe';
import { createResNet } from '../../../main/engine/nets/resnet-model';
import { type BaseMethod, LocalTrainer } from '../../../main/engine/train/local-trainer';
import { SgdNesterov } from '../../../main/engine/train/sgd';
import type { Execution } from '../../../main/engine/train/loss-parts';
import { lossValues } from '../../../main/engine/train/trainer';
import type { Cut } from '../../../shared/engine/splits';
import { digits, MNIST_INPUT } from '../../helpers/digits';
import { expectSameGradients } from '../../helpers/numeric';

const PER_BLOCK: Cut[] = [[1, 0], [2, 0]];

/** InfoPro with every loss weight non-zero, so every auxiliary variable has a loss to learn from. */
const ALL_WEIGHTED = { lambdas: { ixx1: 1, ixy1: 1, ixx2: 1, ixy2: 1 } };

function trainer(method: BaseMethod, cuts: Cut[] = PER_BLOCK, seed = 3, execution: Execution = 'reference', infopro: { lambdas?: typeof ALL_WEIGHTED.lambdas } = ALL_WEIGHTED) {
  const model = createResNet(8, MNIST_INPUT, 10, seed);
  return { model, trainer: new LocalTrainer({ model, method, cuts, normalization: PREPROCESSING.mnist.normalization, seed, execution, infopro }) };
}

const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe('local trainer', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('builds one module per segment with the method\'s head on all but the last', () => {
    const infopro = trainer('infopro').trainer;
    expect(infopro.modules.map((m) => m.units.map((u) => u.unit.kind))).toEqual([['stem', 'block'], ['block'], ['block', 'head']]);
    expect(infopro.modules.map((m) => m.head !== null)).toEqual([true, true, false]);
    const e2e = trainer('e2e').trainer;
    expect(e2e.modules).toHaveLength(1);
    expect(e2e.modules[0]!.head).toBeNull();
    // Module variable sets are disjoint and together are every trainable variable.
    const all = infopro.trainableVariables();
    expect(new Set(all).size).toBe(all.length);
    expect(infopro.modules.map((_, i) => infopro.moduleVariables(i).length).reduce((a, b) => a + b)).toBe(all.length);
  });

  for (const method of ['greedy', 'dgl', 'infopro'] as const) {
    it(`${method}: every variable gets a gradient, and only from its own module's loss`, async () => {
      const { model, trainer: t } = trainer(method);
      const { x, y } = await digits(16);
      const first = t.computeGradients(x, y);
      expect(first.grads.size).toBe(t.trainableVariables().length);
      const losses = await lossValues(first.losses);
      expect(losses).toHaveLength(3);
      expect(losses.every(Number.isFinite)).toBe(true);
      // Change everything downstream of the first cut; the first module's gradients must not move.
      tf.tidy(() => {
        for (const v of [...t.moduleVariables(1), ...t.moduleVariables(2)]) v.assign(tf.mul(v, 1.5));
      });
      const second = t.computeGradients(x, y);
      for (const v of t.moduleVariables(0)) expect(values(second.grads.get(v)!)).toEqual(values(first.grads.get(v)!));
      const changed = t.moduleVariables(1).some((v) => values(second.grads.get(v)!).some((g, i) => g !== values(first.grads.get(v)!)[i]));
      expect(changed).toBe(true);
      tf.dispose([...first.grads.values(), ...second.grads.values(), x, y]);
      t.dispose();
      model.dispose();
    });
  }

  it('e2e gives exactly the gradients of the whole network\'s cross-entropy', async () => {
    const { model, trainer: t } = trainer('e2e');
    const reference = createResNet(8, MNIST_INPUT, 10, 3);
    const { x, y } = await digits(8);
    const ours = t.computeGradients(x, y);
    const { grads } = tf.variableGrads(() => {
      const logits = reference.forward(x, true);
      return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(y, 10)), 1))) as tf.Scalar;
    }, reference.trainableVariables());
    const refVars = reference.trainableVariables();
    t.trainableVariables().forEach((v, i) => {
      const a = values(ours.grads.get(v)!);
      const b = values(grads[refVars[i]!.name]!);
      a.forEach((g, j) => expect(Math.abs(g - b[j]!)).toBeLessThan(1e-4));
    });
    tf.dispose([...ours.grads.values(), ...Object.values(grads), x, y]);
    reference.dispose();
    model.dispose();
  });

  it('infopro (contrast) learns real digits with one SGD step per batch and leaks nothing', async () => {
    const { model, trainer: t } = trainer('infopro', PER_BLOCK, 3, 'reference', {});
    const sgd = new SgdNesterov({ lr: 0.1 });
    const { x, y } = await digits(32);
    const losses: number[][] = [];
    let tensors = 0;
    for (let step = 0; step < 12; step++) {
      losses.push(await lossValues(t.step(x, y, sgd)));
      if (step === 1) tensors = tf.memory().numTensors;
      if (step > 1) expect(tf.memory().numTensors).toBe(tensors);
    }
    // Every module's local loss falls; the last one trains the real head on cross-entropy.
    losses[0]!.forEach((first, module) => expect(losses.at(-1)![module]!).toBeLessThan(first));
    expect(losses.at(-1)![2]!).toBeLessThan(losses[0]![2]! * 0.9);
    tf.dispose([x, y]);
    sgd.dispose();
    t.dispose();
    model.dispose();
  });

  it('lean execution gives the reference gradients with less peak memory (infopro)', async () => {
    const { x, y } = await digits(16);
    const run = async (execution: Execution) => {
      const { model, trainer: t } = trainer('infopro', PER_BLOCK, 3, execution);
      let result!: ReturnType<LocalTrainer['computeGradients']>;
      const { peakAboveStartBytes } = await measurePeak(() => {
        result = t.computeGradients(x, y);
      });
      return { t, model, result, peak: peakAboveStartBytes };
    };
    const reference = await run('reference');
    const lean = await run('lean');
    const leanVars = lean.t.trainableVariables();
    const remapped = new Map(reference.t.trainableVariables().map((v, i) => [v, lean.result.grads.get(leanVars[i]!)!] as const));
    expectSameGradients(reference.result.grads, remapped, reference.t.trainableVariables(), 2e-4);
    expect(lean.peak).toBeLessThan(reference.peak);
    for (const r of [reference, lean]) {
      tf.dispose([...r.result.grads.values()]);
      r.t.dispose();
      r.model.dispose();
    }
    tf.dispose([x, y]);
  });

  it('needs less peak memory per step as K grows (greedy, batch 32)', async () => {
    const { x, y } = await digits(32);
    const peak = async (method: BaseMethod, cuts: Cut[]) => {
      const { model, trainer: t } = trainer(method, cuts);
      const result = await measurePeak(() => tf.dispose([...t.computeGradients(x, y).grads.values()]));
      t.dispose();
      model.dispose();
      return result.peakAboveStartBytes;
    };
    const e2e = await peak('e2e', []);
    const k2 = await peak('greedy', [[2, 0]]);
    const perBlock = await peak('greedy', PER_BLOCK);
    expect(k2).toBeLessThan(e2e);
    expect(perBlock).toBeLessThan(k2);
    tf.dispose([x, y]);
  });
});
