/**
 * IRFD on real procedural clips: every loss finite and reaching exactly the nets it should, a
 * weight of 0 taking a loss out of the total, the swap of exactly one code, a few dozen steps
 * lowering the losses, and the slider mappers training toward the encoders' codes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng, mixSeed } from '../../../main/data/random';
import { selectBackend } from '../../../main/engine/backend/select';
import { EMOTIONS } from '../../../main/speak/corpus/emotions';
import type { ClipSet } from '../../../main/speak/data/clip';
import { proceduralClips } from '../../../main/speak/data/procedural-clips';
import { emotionCode, emotionToCode, mapperLoss, poseCode, poseToCode } from '../../../main/speak/model/code-mappers';
import {
  createIrfdStage,
  disposeBatch,
  encodeFaces,
  IRFD_ATTRIBUTES,
  IRFD_LOSSES,
  irfdArchitecture,
  irfdLosses,
  irfdSettings,
  mixCodes,
  sampleIrfdBatch,
  swapForStep,
  type IrfdAttribute,
  type IrfdSettingsInput,
} from '../../../main/speak/model/irfd';
import { Params } from '../../../main/speak/model/nn';

const TINY: IrfdSettingsInput = { size: 64, width: 8, styleDim: 32, batch: 2 };

let clips: ClipSet;

beforeAll(async () => {
  await selectBackend('wasm');
  // Three people, two emotions each, a few frames: real rendered faces with pose and emotion labels.
  clips = proceduralClips({ count: 3, seed: 11, size: 64, emotions: ['happy', 'sad'], maxFrames: 6 });
}, 60_000);

/** The net each variable belongs to: 'E_i', 'C_m', 'G_d', 'P_map', ... */
const netOf = (name: string) => name.split('.')[1]!;

/** The nets whose variables get a non-zero gradient from `loss`. */
function netsReached(p: Params, loss: () => tf.Scalar): Set<string> {
  const names = new Map(p.variables().map(({ name, variable }) => [variable.name, name]));
  const { value, grads } = tf.variableGrads(loss, p.trainable());
  const reached = new Set<string>();
  for (const [varName, g] of Object.entries(grads)) {
    if (tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!) > 0) reached.add(netOf(names.get(varName)!));
    g.dispose();
  }
  value.dispose();
  return reached;
}

describe('IRFD', () => {
  it('every loss is finite and each reaches the nets it should, and no others', () => {
    // A wide margin keeps the L_id hinge open, so its gradient is not zero by chance.
    const stage = createIrfdStage(clips, { ...TINY, margin: 50 }, 3);
    const p = stage.params;
    const s = stage.settings;
    const batch = sampleIrfdBatch(clips, s, createRng(5));
    const expected: Record<string, string[]> = {
      id: ['E_e', 'E_i', 'E_p', 'G_d'],
      cls: ['C_m', 'E_e'],
      pose: ['E_e', 'E_i', 'E_p', 'G_d'],
      emo: ['E_e', 'E_i', 'E_p', 'G_d'],
      self: ['E_e', 'E_i', 'E_p', 'G_d'],
      poseLabel: ['E_p', 'R_p'],
      mapPose: ['P_map'],
      mapEmotion: ['E_map'],
    };
    for (const [name, nets] of Object.entries(expected)) {
      const reached = netsReached(p, () => irfdLosses(p, batch, 'identity', s)[name as 'id']);
      expect([...reached].sort(), name).toEqual(nets);
    }
    const values = tf.tidy(() => Object.fromEntries(Object.entries(irfdLosses(p, batch, 'emotion', s)).map(([k, v]) => [k, v.dataSync()[0]!])));
    for (const [name, v] of Object.entries(values)) expect(Number.isFinite(v), `${name} = ${v}`).toBe(true);
    disposeBatch(batch);
    stage.dispose();
  }, 60_000);

  it('a weight of 0 removes that loss from the total and from the gradient', async () => {
    const full = createIrfdStage(clips, TINY, 4);
    const v = await full.step(0);
    for (const name of [...IRFD_LOSSES, 'dis', 'poseLabel', 'mapPose', 'mapEmotion', 'total']) expect(Number.isFinite(v[name]!), name).toBe(true);
    expect(v.dis).toBeCloseTo(IRFD_LOSSES.reduce((a, n) => a + v[n]!, 0), 4);
    expect(v.total).toBeCloseTo(v.dis! + v.poseLabel! + v.mapPose! + v.mapEmotion!, 4);
    full.dispose();

    const noCls = createIrfdStage(clips, { ...TINY, weights: { cls: 0 } }, 4);
    const w = await noCls.step(0);
    // Same seed and step: the same first batch and swap, so the reported L_cls is the same...
    expect(w.cls).toBeCloseTo(v.cls!, 5);
    // ... but it is no longer in the total,
    expect(w.dis).toBeCloseTo(v.id! + v.pose! + v.emo! + v.self!, 4);
    // and C_m (trained by L_cls alone) gets no gradient from the total.
    const s = noCls.settings;
    const batch = sampleIrfdBatch(clips, s, createRng(6));
    expect(netsReached(noCls.params, () => irfdLosses(noCls.params, batch, 'pose', s).total).has('C_m')).toBe(false);
    disposeBatch(batch);
    noCls.dispose();
  }, 60_000);

  it('relative code distances: shrinking f_P cannot lower L_pose (as written, it falls in proportion)', () => {
    for (const relativeCodes of [true, false]) {
      const stage = createIrfdStage(clips, { ...TINY, relativeCodes }, 5);
      const { params: p, settings: s } = stage;
      const batch = sampleIrfdBatch(clips, s, createRng(9));
      const lPose = () => tf.tidy(() => irfdLosses(p, batch, 'pose', s).pose.dataSync()[0]!);
      const before = lPose();
      // f_P ten times smaller, and the decoder's mlp reading it ten times larger: the same faces.
      const vars = new Map(p.variables().map(({ name, variable }) => [name, variable]));
      for (const name of ['irfd.E_p.head.w', 'irfd.E_p.head.b']) vars.get(name)!.assign(tf.tidy(() => tf.mul(vars.get(name)!, 0.1)));
      const fc1 = vars.get('irfd.G_d.mlp.fc1.w')!;
      const poseRows = s.identityDim + s.emotionDim;
      fc1.assign(tf.tidy(() => tf.concat([tf.slice(fc1, [0, 0], [poseRows, -1]), tf.mul(tf.slice(fc1, [poseRows, 0], [-1, -1]), 10)])));
      const after = lPose();
      if (relativeCodes) expect(after / before).toBeCloseTo(1, 3);
      else expect(after / before).toBeCloseTo(0.1, 3);
      disposeBatch(batch);
      stage.dispose();
    }
  }, 30_000);

  it('swaps exactly one code: each mix takes the one swapped code from the other face', () => {
    const s = irfdSettings(TINY);
    const stage = createIrfdStage(clips, TINY, 7);
    const batch = sampleIrfdBatch(clips, s, createRng(8));
    tf.tidy(() => {
      const S = encodeFaces(stage.params, batch.source);
      const T = encodeFaces(stage.params, batch.target);
      for (const attribute of IRFD_ATTRIBUTES) {
        const { mixed, sources } = mixCodes(S, T, attribute);
        for (const [k, own, other] of [[0, S, T], [1, T, S]] as const) {
          const mix = mixed[k];
          for (const key of IRFD_ATTRIBUTES) {
            const expected = key === attribute ? other : own;
            // The codes are the originals' own tensors, and their values differ between S and T.
            expect(mix[key], `${attribute} swap, mix ${k}, ${key}`).toBe(expected[key]);
            expect(sources[k][key]).toBe((key === attribute) === (k === 0) ? 'T' : 'S');
          }
          expect(IRFD_ATTRIBUTES.filter((key) => mix[key] !== own[key])).toEqual([attribute]);
        }
        expect(tf.max(tf.abs(tf.sub(S[attribute], T[attribute]))).dataSync()[0]).toBeGreaterThan(0);
      }
    });
    // The step's swap comes from (seed, step): reproducible, and all three attributes occur.
    const drawn = Array.from({ length: 30 }, (_, i) => swapForStep(7, i));
    expect(drawn).toEqual(Array.from({ length: 30 }, (_, i) => swapForStep(7, i)));
    expect(new Set(drawn)).toEqual(new Set(IRFD_ATTRIBUTES));
    disposeBatch(batch);
    stage.dispose();
  }, 60_000);

  it('twenty steps on three procedural people lower the total loss and L_cls', async () => {
    const stage = createIrfdStage(clips, { ...TINY, batch: 4, lr: 2e-3 }, 9);
    const s = stage.settings;
    const evalBatch = sampleIrfdBatch(clips, s, createRng(mixSeed(99, 1)));
    // Fixed batch, every swap: the losses before and after training on the same data.
    const measure = () =>
      tf.tidy(() => {
        const sum = { total: 0, cls: 0 };
        for (const a of IRFD_ATTRIBUTES) {
          const l = irfdLosses(stage.params, evalBatch, a as IrfdAttribute, s);
          sum.total += l.total.dataSync()[0]! / 3;
          sum.cls += l.cls.dataSync()[0]! / 3;
        }
        return sum;
      });
    const before = measure();
    const started = performance.now();
    const steps = 20;
    const swaps = new Set<string>();
    let tensorsAfterFirst = 0;
    for (let i = 0; i < steps; i++) {
      await stage.step(i);
      swaps.add(stage.lastSwap!);
      if (i === 0) tensorsAfterFirst = tf.memory().numTensors;
    }
    // A step leaves nothing behind (batches, kept loss values and the tape are all freed).
    expect(tf.memory().numTensors).toBe(tensorsAfterFirst);
    const msPerStep = (performance.now() - started) / steps;
    const after = measure();
    console.log(`IRFD 64 px, width 8, batch 4: ${msPerStep.toFixed(0)} ms/step; total ${before.total.toFixed(3)} -> ${after.total.toFixed(3)}, L_cls ${before.cls.toFixed(3)} -> ${after.cls.toFixed(3)}`);
    expect(swaps.size).toBe(3);
    expect(after.total).toBeLessThan(before.total);
    expect(after.cls).toBeLessThan(before.cls);
    disposeBatch(evalBatch);
    stage.dispose();
  }, 90_000);

  it('encodeFaces gives the three codes at the trained sizes, the architecture read back from the params', () => {
    const stage = createIrfdStage(clips, { ...TINY, identityDim: 12, emotionDim: 6, poseDim: 5 }, 2);
    expect(irfdArchitecture(stage.params)).toEqual({ size: 64, width: 8, identityDim: 12, emotionDim: 6, poseDim: 5, styleDim: 32 });
    tf.tidy(() => {
      // A 128 px input is resized to the nets' 64.
      const codes = encodeFaces(stage.params, tf.fill([3, 128, 128, 3], 0.5) as tf.Tensor4D);
      expect(codes.identity.shape).toEqual([3, 12]);
      expect(codes.emotion.shape).toEqual([3, 6]);
      expect(codes.pose.shape).toEqual([3, 5]);
    });
    stage.dispose();
  }, 30_000);
  it('refuses bad settings and params without IRFD with a message saying what to give', () => {
    expect(() => irfdSettings({ size: 60 })).toThrow(/size 60 must be a power of two/);
    expect(() => irfdSettings({ weights: { id: -1 } })).toThrow(/weight of id must be >= 0/);
    expect(() => irfdSettings({ weights: { vgg: 1 } as never })).toThrow(/Unknown IRFD loss weight 'vgg'/);
    expect(() => irfdSettings({ identityLoss: 'cosine' as never })).toThrow(/'paper' or 'anchor'/);
    expect(() => createIrfdStage({ clips: [], identities: [] }, TINY)).toThrow(/at least one clip/);
    expect(() => irfdArchitecture(new Params('irfd', 1))).toThrow(/no IRFD encoders/);
  });
});

describe('slider code mappers', () => {
  it('poseToCode and emotionToCode give f_P and f_E shapes, blend linearly, and refuse bad sliders', () => {
    const stage = createIrfdStage(clips, TINY, 12);
    const p = stage.params;
    tf.tidy(() => {
      expect(poseToCode(p, tf.tensor2d([[10, -5, 3], [0, 0, 0]]), 8).shape).toEqual([2, 8]);
      const w = tf.tensor2d([[1, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0, 0], [0.5, 0, 0, 0, 0.5, 0, 0, 0]]);
      const codes = emotionToCode(p, w, tf.tensor1d([0.7, 0.7, 0.7]), 16).arraySync() as number[][];
      expect(codes.map((c) => c.length)).toEqual([16, 16, 16]);
      codes[2]!.forEach((v, i) => expect(v).toBeCloseTo((codes[0]![i]! + codes[1]![i]!) / 2, 5));
    });
    expect(poseCode(p, { yaw: 10, pitch: 0, roll: 0 })).toHaveLength(8);
    expect(emotionCode(p, { happy: 2 }, 0.5)).toEqual(emotionCode(p, { happy: 1 }, 0.5));
    expect(() => emotionCode(p, [1, 0, 0], 0.5)).toThrow(/8 numbers in the order angry/);
    expect(() => emotionCode(p, { joyful: 1 } as never, 0.5)).toThrow(/Unknown emotion 'joyful'/);
    expect(() => emotionCode(p, { happy: 1 }, 1.5)).toThrow(/between 0 and 1/);
    expect(() => poseCode(p, { yaw: Number.NaN, pitch: 0, roll: 0 })).toThrow(/yaw must be a finite number/);
    stage.dispose();
  }, 30_000);

  it('the mappers train toward the encoders codes of the frames, from the frames labels', () => {
    const stage = createIrfdStage(clips, { ...TINY, batch: 8 }, 13);
    const p = stage.params;
    const s = stage.settings;
    const batch = sampleIrfdBatch(clips, s, createRng(21));
    const labels = () => tf.oneHot(batch.sourceEmotion, EMOTIONS.length) as tf.Tensor2D;
    // The encoders' codes of the frames: the targets (the gradient test shows no mapper loss reaches an encoder).
    const codes = tf.tidy(() => {
      const c = encodeFaces(p, batch.source);
      return { pose: tf.keep(c.pose), emotion: tf.keep(c.emotion) };
    });
    const losses = () => {
      return {
        pose: mapperLoss(poseToCode(p, batch.sourcePose, s.poseDim), codes.pose),
        emotion: mapperLoss(emotionToCode(p, labels(), batch.sourceIntensity, s.emotionDim), codes.emotion),
      };
    };
    const read = () => tf.tidy(() => { const l = losses(); return { pose: l.pose.dataSync()[0]!, emotion: l.emotion.dataSync()[0]! }; });
    const before = read();
    const mappers = p.variables().filter(({ name }) => /\.(P_map|E_map)\./.test(name)).map(({ variable }) => variable);
    const opt = tf.train.adam(1e-2);
    for (let i = 0; i < 60; i++) opt.minimize(() => { const l = losses(); return tf.add(l.pose, l.emotion) as tf.Scalar; }, false, mappers);
    const after = read();
    console.log(`mappers: pose MSE ${before.pose.toExponential(2)} -> ${after.pose.toExponential(2)}, emotion MSE ${before.emotion.toExponential(2)} -> ${after.emotion.toExponential(2)}`);
    codes.pose.dispose();
    codes.emotion.dispose();
    expect(after.pose).toBeLessThan(before.pose * 0.5);
    expect(after.emotion).toBeLessThan(before.emotion * 0.5);
    opt.dispose();
    disposeBatch(batch);
    stage.dispose();
  }, 60_000);
});
