/**
 * MAN on real MNIST digits (ResNet-8, wasm): the momentum nets (EMA copy of the next block,
 * learnable bias), gradient isolation (methods.md 6.6: segment j only from L_j, the next block B
 * nothing from L_j, the EMA weights no gradient at all), the EMA update rule with the pre-step
 * weights (6.4), lean execution equal to the reference, and learning.
 */
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREPROCESSING } from '../../../main/data/preprocess';
import { selectBackend } from '../../../main/engine/backend/select';
import { type ManOptions, ManTrainer } from '../../../main/engine/methods/man';
import { createResNet } from '../../../main/engine/nets/resnet-model';
import type { Execution } from '../../../main/engine/train/loss-parts';
import { lossValues } from '../../../main/engine/train/trainer';
import { SgdNesterov } from '../../../main/engine/train/sgd';
import type { Cut } from '../../../shared/engine/splits';
import { digits, MNIST_INPUT } from '../../helpers/digits';
import { expectSameGradients, sameValues } from '../../helpers/numeric';

const PER_BLOCK: Cut[] = [[1, 0], [2, 0]];
const disposers: (() => void)[] = [];

function man(options: Partial<ManOptions> = {}, execution: Execution = 'reference'): ManTrainer {
  const model = createResNet(8, MNIST_INPUT, 10, 11);
  const trainer = new ManTrainer({ model, cuts: PER_BLOCK, normalization: PREPROCESSING.mnist.normalization, seed: 11, execution, man: { base: 'infopro', ...options } });
  disposers.push(() => (trainer.dispose(), model.dispose()));
  return trainer;
}

const flat = (t: tf.Tensor) => Array.from(t.dataSync());

describe('MAN', () => {
  let x: tf.Tensor4D;
  let y: tf.Tensor1D;
  beforeAll(async () => {
    await selectBackend('wasm');
    ({ x, y } = await digits(16));
  });
  afterAll(() => {
    for (const dispose of disposers) dispose();
    tf.dispose([x, y]);
  });

  it('builds a momentum net per cut from the next block, with the chosen learnable bias', () => {
    const t = man();
    expect(t.segments).toHaveLength(3);
    // The EMA copy and the learnable block have the next block's architecture (here the stride-2 first block of stage 2).
    expect(t.emaVariables(0).map((v) => v.shape)).toEqual(t.segmentVariables(1).map((v) => v.shape));
    const none = man({ bias: 'none' });
    const vector = man({ bias: 'vector' });
    expect(t.auxVariables(0).length - none.auxVariables(0).length).toBe(t.segmentVariables(1).length);
    expect(vector.auxVariables(0).length - none.auxVariables(0).length).toBe(1);
    // Code schedule: r = stage of the next block / (K - 2), clamped; K = 4 here, next blocks in stages 2 and 3.
    expect(man({ lambdaIndex: 'stage' }).weights(0, 2)).toEqual({ ixx: 0, ixy: 0 });
    expect(t.weights(0, 2)).toEqual({ ixx: 5, ixy: 0.5 });
  });

  it('gives every segment a gradient with its default λ index at K = 4 (ResNet-8, one module per block)', () => {
    const t = man();
    expect(t.options.lambdaIndex).toBe('module');
    const { grads, losses } = t.computeGradients(x, y);
    for (const j of [0, 1, 2]) expect(t.segmentVariables(j).some((v) => Array.from(grads.get(v)!.dataSync()).some((g) => g !== 0))).toBe(true);
    tf.dispose([...grads.values(), ...losses]);
  });

  it('gives zero (not missing) gradients where the code schedule reaches weights (0, 0), as PyTorch does', () => {
    const t = man({ lambdaIndex: 'stage' });
    const { grads, losses } = t.computeGradients(x, y);
    for (const v of t.segmentVariables(0)) expect(Array.from(grads.get(v)!.dataSync()).every((g) => g === 0)).toBe(true);
    expect(t.segmentVariables(2).some((v) => Array.from(grads.get(v)!.dataSync()).some((g) => g !== 0))).toBe(true);
    tf.dispose([...grads.values(), ...losses]);
  });

  it('isolates gradients: segment j only from L_j, the next block nothing from L_j, the EMA weights never', () => {
    const t = man({ lambdaIndex: 'module' });
    const first = t.computeGradients(x, y).grads;
    for (let i = 0; i < 2; i++) for (const v of t.emaVariables(i)) expect(first.has(v)).toBe(false);
    expect(first.size).toBe(t.trainableVariables().length);
    // Scaling segment 1 (which holds B, the block after cut 0) leaves every gradient of L_0 unchanged.
    tf.tidy(() => {
      for (const v of t.segmentVariables(1)) v.assign(tf.mul(v, 1.25));
    });
    const second = t.computeGradients(x, y).grads;
    for (const v of [...t.segmentVariables(0), ...t.auxVariables(0)]) expect(sameValues(first.get(v)!, second.get(v)!)).toBe(true);
    // L_0's gradient does pass through the frozen EMA weights into segment 0.
    tf.tidy(() => {
      for (const v of t.emaVariables(0)) v.assign(tf.mul(v, 0.5));
    });
    const third = t.computeGradients(x, y).grads;
    expect(t.segmentVariables(0).some((v) => !sameValues(second.get(v)!, third.get(v)!))).toBe(true);
    tf.dispose([...first.values(), ...second.values(), ...third.values()]);
  });

  it('moves the EMA by m toward the next block\'s pre-step weights', () => {
    const t = man({ decay: 0.75, lambdaIndex: 'module' });
    const ema = t.emaVariables(0).map(flat);
    const next = t.segmentVariables(1).map(flat);
    const gaps = [t.emaGaps()[0]!];
    const sgd = new SgdNesterov({ lr: 0.01 });
    tf.dispose(t.step(x, y, sgd));
    t.emaVariables(0).forEach((v, k) => flat(v).forEach((value, i) => expect(value).toBeCloseTo(0.75 * ema[k]![i]! + 0.25 * next[k]![i]!, 5)));
    for (let step = 0; step < 5; step++) {
      tf.dispose(t.step(x, y, sgd));
      gaps.push(t.emaGaps()[0]!);
    }
    // The random-init EMA closes in on the block it tracks, roughly like m^t.
    expect(gaps.at(-1)!).toBeLessThan(gaps[0]! * 0.5);
    sgd.dispose();
  });

  it('lean execution gives the reference gradients', async () => {
    const reference = man({ lambdaIndex: 'module' }, 'reference');
    const lean = man({ lambdaIndex: 'module' }, 'lean');
    const a = reference.computeGradients(x, y);
    const b = lean.computeGradients(x, y);
    const leanVars = lean.trainableVariables();
    const remapped = new Map(reference.trainableVariables().map((v, i) => [v, b.grads.get(leanVars[i]!)!] as const));
    expectSameGradients(a.grads, remapped, reference.trainableVariables(), 2e-4);
    const [la, lb] = [await lossValues(a.losses), await lossValues(b.losses)];
      la.forEach((loss, i) => expect(lb[i]).toBeCloseTo(loss, 4));
    tf.dispose([...a.grads.values(), ...b.grads.values()]);
  });

  it('DGL+MAN and InfoPro+MAN learn real digits without leaking tensors', async () => {
    for (const base of ['dgl', 'infopro'] as const) {
      const t = man({ base, lambdaIndex: 'module' }, 'lean');
      const sgd = new SgdNesterov({ lr: 0.05 });
      const losses: number[][] = [];
      let tensors = 0;
      for (let step = 0; step < 8; step++) {
        losses.push(await lossValues(t.step(x, y, sgd)));
        if (step === 1) tensors = tf.memory().numTensors;
        if (step > 1) expect(tf.memory().numTensors).toBe(tensors);
      }
      expect(losses[0]).toHaveLength(3);
      losses[0]!.forEach((first, module) => expect(losses.at(-1)![module]!).toBeLessThan(first));
      sgd.dispose();
    }
  });
});
