/**
 * HPFF on real MNIST digits (ResNet-8, wasm): its segments and auxiliary nets, the gradient routes
 * of methods.md 6.6 (theta_0 and the stem only from L_cas(1); theta_j from L_ind(j), L_cas(j),
 * L_cas(j+1); each auxiliary net only from its own loss), the lean execution giving the reference
 * triple-forward code's gradients (6.7) with less memory, both PFF readings, and learning.
 */
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREPROCESSING } from '../../../main/data/preprocess';
import { selectBackend } from '../../../main/engine/backend/select';
import { measurePeak } from '../../../main/engine/memory/probe';
import { type HpffOptions, HpffTrainer } from '../../../main/engine/methods/hpff';
import { quadrants } from '../../../main/engine/methods/pff';
import { createResNet } from '../../../main/engine/nets/resnet-model';
import type { Execution } from '../../../main/engine/train/loss-parts';
import { lossValues } from '../../../main/engine/train/trainer';
import { SgdNesterov } from '../../../main/engine/train/sgd';
import type { Cut } from '../../../shared/engine/splits';
import { digits, MNIST_INPUT } from '../../helpers/digits';
import { expectSameGradients, sameValues } from '../../helpers/numeric';

const PER_BLOCK: Cut[] = [[1, 0], [2, 0]];
type Made = { trainer: HpffTrainer; dispose(): void };
const made: Made[] = [];

function hpff(options: Partial<HpffOptions> = {}, execution: Execution = 'reference', depth = 8, cuts: Cut[] = PER_BLOCK): HpffTrainer {
  const model = createResNet(depth, MNIST_INPUT, 10, 7);
  const trainer = new HpffTrainer({ model, cuts, normalization: PREPROCESSING.mnist.normalization, seed: 7, execution, hpff: { base: 'infopro', ...options } });
  made.push({ trainer, dispose: () => (trainer.dispose(), model.dispose()) });
  return trainer;
}

const flat = (t: tf.Tensor) => Array.from(t.dataSync());

describe('HPFF', () => {
  let x: tf.Tensor4D;
  let y: tf.Tensor1D;
  beforeAll(async () => {
    await selectBackend('wasm');
    ({ x, y } = await digits(16));
  });
  afterAll(() => {
    for (const m of made) m.dispose();
    tf.dispose([x, y]);
  });

  it('fuses the stem into the first segment and puts nets on cuts 1..K\'-2 only', () => {
    const t = hpff();
    expect(t.segments.map((s) => s.map((u) => `${u.unit.kind}${u.unit.stage}`))).toEqual([['stem0', 'block1'], ['block2'], ['block3', 'head4']]);
    // One module per block counts the stem as the papers do (ResNet-32 "K = 16" is 15 segments).
    expect(t.nominalK).toBe(4);
    expect(t.auxVariables(0)).toEqual({ independent: [], cascade: [] });
    expect(t.auxVariables(1).independent.length).toBeGreaterThan(0);
    // InfoPro base, code PFF: 4 quadrant decoders (4 vars each + BN) and a 2c2f classifier.
    expect(t.auxVariables(1).cascade.length).toBeGreaterThan(4 * 4);
    expect(t.auxVariables(2)).toEqual({ independent: [], cascade: [] });
    expect(() => hpff({}, 'reference', 8, [])).toThrow(/at least one cut/);
  });

  it('lean execution gives the reference triple-forward gradients on every variable', async () => {
    for (const [options, depth, cuts] of [[{}, 8, PER_BLOCK], [{ pff: 'paper' }, 8, PER_BLOCK], [{}, 14, [[1, 1], [2, 0], [2, 1]]]] as const) {
      const reference = hpff(options, 'reference', depth, cuts as unknown as Cut[]);
      const lean = hpff(options, 'lean', depth, cuts as unknown as Cut[]);
      const a = reference.computeGradients(x, y);
      const b = lean.computeGradients(x, y);
      // Same variables in the same order: map the lean trainer's onto the reference's.
      const leanVars = lean.trainableVariables();
      const remapped = new Map(reference.trainableVariables().map((v, i) => [v, b.grads.get(leanVars[i]!)!] as const));
      // Parts weighted 0 (lambda at r = 1 is (0, 0) in the code's schedule) are skipped by both.
      expect(a.grads.size).toBe(b.grads.size);
      expect(a.grads.size).toBeGreaterThan(0.7 * reference.trainableVariables().length);
      expectSameGradients(a.grads, remapped, [...a.grads.keys()], 2e-4);
      const [la, lb] = [await lossValues(a.losses), await lossValues(b.losses)];
      la.forEach((loss, i) => expect(lb[i]).toBeCloseTo(loss, 4));
      tf.dispose([...a.grads.values(), ...b.grads.values()]);
    }
  });

  it('routes gradients as the code does: theta_0 only from L_cas(1), theta_1 from L_ind(1), L_cas(1) and L_cas(2)', () => {
    const t = hpff();
    const g = (weights: Partial<HpffOptions>) => {
      Object.assign(t.options, weights);
      return t.computeGradients(x, y).grads;
    };
    const both = g({ independentWeight: 0.001, cascadeWeight: 0.999 });
    const cascadeOnly = g({ independentWeight: 0, cascadeWeight: 0.999 });
    // No independent loss reaches segment 0 (or the stem in it) ...
    for (const v of t.segmentVariables(0)) expect(sameValues(both.get(v)!, cascadeOnly.get(v)!)).toBe(true);
    // ... but one does reach segment 1, and only the independent loss reaches the independent net.
    expect(t.segmentVariables(1).some((v) => !sameValues(both.get(v)!, cascadeOnly.get(v)!))).toBe(true);
    for (const v of t.auxVariables(1).independent) expect(flat(cascadeOnly.get(v)!).every((g) => g === 0)).toBe(true);
    // L_cas(2) (the real head on E_2(E_1(sg h_0))) reaches segment 1 but not segment 0.
    tf.tidy(() => {
      for (const v of t.segmentVariables(2)) v.assign(tf.mul(v, 1.25));
    });
    const moved = g({ independentWeight: 0.001, cascadeWeight: 0.999 });
    for (const v of t.segmentVariables(0)) expect(sameValues(both.get(v)!, moved.get(v)!)).toBe(true);
    expect(t.segmentVariables(1).some((v) => !sameValues(both.get(v)!, moved.get(v)!))).toBe(true);
    // The cascade and independent nets of cut 1 learn only from their own losses.
    for (const v of [...t.auxVariables(1).cascade, ...t.auxVariables(1).independent]) expect(sameValues(both.get(v)!, moved.get(v)!)).toBe(true);
    tf.dispose([...both.values(), ...cascadeOnly.values(), ...moved.values()]);
  });

  it('lean execution needs less peak memory than the reference code\'s', async () => {
    const peak = async (execution: Execution) => {
      const t = hpff({}, execution);
      return (await measurePeak(() => tf.dispose([...t.computeGradients(x, y).grads.values()]))).peakAboveStartBytes;
    };
    const reference = await peak('reference');
    const lean = await peak('lean');
    expect(lean).toBeLessThan(reference);
  });

  it('splits feature maps into the code\'s quadrants, odd sizes included', () => {
    const map = tf.tensor4d(Array.from({ length: 7 * 7 }, (_, i) => i), [1, 7, 7, 1]);
    const [tl, tr, bl, br] = quadrants(map);
    expect([tl!.shape, tr!.shape, bl!.shape, br!.shape]).toEqual([[1, 3, 3, 1], [1, 3, 4, 1], [1, 4, 3, 1], [1, 4, 4, 1]]);
    expect(flat(br!)[0]).toBe(3 * 7 + 3);
    tf.dispose([map, tl!, tr!, bl!, br!]);
    // The paper reading shares one decoder across the patches; the code's has one per quadrant.
    const paper = hpff({ pff: 'paper' });
    const code = hpff({ pff: 'code' });
    expect(code.auxVariables(1).cascade.length - paper.auxVariables(1).cascade.length).toBe(3 * 6);
  });

  it('DGL+HPFF and InfoPro+HPFF learn real digits without leaking tensors', async () => {
    for (const base of ['dgl', 'infopro'] as const) {
      const t = hpff({ base }, 'lean');
      const sgd = new SgdNesterov({ lr: 0.05 });
      const losses: number[][] = [];
      let tensors = 0;
      for (let step = 0; step < 8; step++) {
        losses.push(await lossValues(t.step(x, y, sgd)));
        if (step === 1) tensors = tf.memory().numTensors;
        if (step > 1) expect(tf.memory().numTensors).toBe(tensors);
      }
      expect(losses[0]).toHaveLength(2);
      // The last pair's loss is (mostly) the real head's cross-entropy: it must fall.
      expect(losses.at(-1)![1]!).toBeLessThan(losses[0]![1]! * 0.9);
      sgd.dispose();
    }
  });
});
