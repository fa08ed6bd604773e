/**
 * SgdNesterov (main/engine/train/sgd.ts) must do exactly torch.optim.SGD's update, checked against
 * an independent plain-JS version of it; it must skip parameters without gradients, restore its
 * state exactly and leak nothing. learningRate (main/engine/train/schedule.ts) must give the
 * reference's per-epoch rates (methods.md 0.4), checked against hand-computed values.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../main/engine/backend/select';
import { SgdNesterov } from '../../../main/engine/train/sgd';
import { cosineAt, describeSchedule, learningRate, type LearningRateSchedule } from '../../../main/engine/train/schedule';

/** Deterministic values in [-1, 1) (a 32-bit LCG). */
function values(size: number, seed: number): number[] {
  const out: number[] = [];
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    out.push(Math.fround(s / 2 ** 31 - 1));
  }
  return out;
}

/** PyTorch SGD for one parameter, written out in float64 on plain arrays. */
class ReferenceSgd {
  private buf: number[] | null = null;
  constructor(
    private readonly o: { lr: number; momentum: number; weightDecay: number; nesterov: boolean },
  ) {}
  step(p: number[], grad: number[]): number[] {
    const { lr, momentum, weightDecay, nesterov } = this.o;
    const d = grad.map((g, i) => g + weightDecay * p[i]!);
    const prev = this.buf;
    const buf = prev === null ? [...d] : prev.map((b, i) => momentum * b + d[i]!);
    this.buf = buf;
    const update = nesterov ? d.map((x, i) => x + momentum * buf[i]!) : buf;
    return p.map((x, i) => x - lr * update[i]!);
  }
}

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (Math.abs(a - e) > tol * Math.max(1, Math.abs(e))) expect.fail(`element ${i}: ${a} vs expected ${e}`);
  }
}

const SHAPES = [[3, 4], [5], [2, 2, 3]];

function makeParams(seed: number): tf.Variable[] {
  return SHAPES.map((shape, k) => tf.variable(tf.tensor(values(shape.reduce((a, b) => a * b, 1), seed + k), shape), true));
}

/** Gradients for step t: fixed pseudo-random tensors, so the reference sees the same numbers. */
function gradValues(t: number): number[][] {
  return SHAPES.map((shape, k) => values(shape.reduce((a, b) => a * b, 1), 1000 + 17 * t + k).map((x) => Math.fround(x * 3)));
}

beforeAll(async () => {
  await selectBackend('cpu');
});

afterAll(() => {
  tf.disposeVariables();
});

describe('SgdNesterov follows torch.optim.SGD', () => {
  it.each([
    ['cpu', true, 1e-2],
    ['cpu', false, 1e-2],
    ['cpu', true, 0],
    ['cpu', false, 0],
    ['wasm', true, 1e-2],
    ['wasm', false, 1e-2],
  ] as const)('%s, nesterov %s, weight decay %s: 6 steps with changing lr match the reference', async (backend, nesterov, weightDecay) => {
    await selectBackend(backend);
    const params = makeParams(7);
    const opt = new SgdNesterov({ lr: 0.3, momentum: 0.9, weightDecay, nesterov });
    const refs = params.map(() => new ReferenceSgd({ lr: 0.3, momentum: 0.9, weightDecay, nesterov }));
    let expected = params.map((p) => Array.from(p.dataSync()));
    for (let t = 0; t < 6; t++) {
      const lr = t < 3 ? 0.3 : 0.05;
      opt.setLearningRate(lr);
      refs.forEach((r) => ((r as unknown as { o: { lr: number } }).o.lr = lr));
      const gv = gradValues(t);
      const grads = new Map(params.map((p, k) => [p, tf.tensor(gv[k]!, p.shape)] as const));
      opt.step(grads);
      grads.forEach((g) => g.dispose());
      expected = expected.map((p, k) => refs[k]!.step(p, gv[k]!));
      params.forEach((p, k) => expectClose(p.dataSync(), expected[k]!));
    }
    expect(opt.stepCount).toBe(6);
    opt.dispose();
    params.forEach((p) => p.dispose());
    await selectBackend('cpu');
  });

  it('defaults are the recipe: momentum 0.9, weight decay 1e-4, Nesterov', () => {
    const opt = new SgdNesterov({ lr: 0.1 });
    expect([opt.momentum, opt.weightDecay, opt.nesterov, opt.learningRate]).toEqual([0.9, 1e-4, true, 0.1]);
    opt.dispose();
  });

  it('accepts gradients keyed by variable name (tf.variableGrads) and matches the Map form', () => {
    const a = makeParams(3);
    const b = makeParams(3);
    const optA = new SgdNesterov({ lr: 0.1 });
    const optB = new SgdNesterov({ lr: 0.1 });
    for (let t = 0; t < 3; t++) {
      const gv = gradValues(t);
      const gradsA = new Map(a.map((p, k) => [p, tf.tensor(gv[k]!, p.shape)] as const));
      const gradsB = Object.fromEntries(b.map((p, k) => [p.name, tf.tensor(gv[k]!, p.shape)] as const));
      optA.step(gradsA);
      optB.step(gradsB);
      tf.dispose([...gradsA.values(), ...Object.values(gradsB)]);
    }
    a.forEach((p, k) => expect(Array.from(b[k]!.dataSync())).toEqual(Array.from(p.dataSync())));
    // And straight from tf.variableGrads on a real loss.
    const { grads } = tf.variableGrads(() => tf.add(tf.sum(tf.square(a[0]!)), tf.sum(a[1]!)) as tf.Scalar, [a[0]!, a[1]!]);
    const before = Array.from(a[2]!.dataSync());
    optA.step(grads);
    tf.dispose(Object.values(grads));
    expect(Array.from(a[2]!.dataSync())).toEqual(before);
    [optA, optB].forEach((o) => o.dispose());
    [...a, ...b].forEach((p) => p.dispose());
  });

  it('leaves parameters without a gradient untouched, buffers included (PyTorch skips grad None)', () => {
    const params = makeParams(11);
    const opt = new SgdNesterov({ lr: 0.2, weightDecay: 1e-3 });
    const refs = params.map(() => new ReferenceSgd({ lr: 0.2, momentum: 0.9, weightDecay: 1e-3, nesterov: true }));
    let expected = params.map((p) => Array.from(p.dataSync()));
    // Parameter 1 gets a gradient only at steps 0 and 3; parameter 2 never.
    const present = [
      [0, 1],
      [0],
      [0],
      [0, 1],
    ];
    for (let t = 0; t < present.length; t++) {
      const gv = gradValues(t);
      const ks = present[t]!;
      const grads = new Map(ks.map((k) => [params[k]!, tf.tensor(gv[k]!, params[k]!.shape)] as const));
      opt.step(grads);
      grads.forEach((g) => g.dispose());
      expected = expected.map((p, k) => (ks.includes(k) ? refs[k]!.step(p, gv[k]!) : p));
      params.forEach((p, k) => expectClose(p.dataSync(), expected[k]!));
    }
    expect(Array.from(params[2]!.dataSync())).toEqual(values(12, 13).map(Math.fround));
    expect(opt.getState().buffers.map((b) => b.name)).toEqual([params[0]!.name, params[1]!.name]);
    opt.dispose();
    params.forEach((p) => p.dispose());
  });

  it('state round-trip: a new optimiser given getState() takes the identical next steps', () => {
    const a = makeParams(21);
    const opt = new SgdNesterov({ lr: 0.1 });
    for (let t = 0; t < 3; t++) {
      const grads = new Map(a.slice(0, 2).map((p, k) => [p, tf.tensor(gradValues(t)[k]!, p.shape)] as const));
      opt.step(grads);
      grads.forEach((g) => g.dispose());
    }
    // Cloned, as a message to a worker is; and onto fresh variables with other names, by position.
    const state = structuredClone(opt.getState(a));
    expect(state.step).toBe(3);
    expect(state.buffers.map((b) => b.index)).toEqual([0, 1]);
    const b = a.map((p) => tf.variable(tf.clone(p), true));
    const resumed = new SgdNesterov({ lr: 0.1 });
    resumed.setState(state, b);
    expect(resumed.stepCount).toBe(3);
    for (let t = 3; t < 5; t++) {
      const gv = gradValues(t);
      const ga = new Map(a.map((p, k) => [p, tf.tensor(gv[k]!, p.shape)] as const));
      const gb = new Map(b.map((p, k) => [p, tf.tensor(gv[k]!, p.shape)] as const));
      opt.step(ga);
      resumed.step(gb);
      tf.dispose([...ga.values(), ...gb.values()]);
      a.forEach((p, k) => expect(Array.from(b[k]!.dataSync())).toEqual(Array.from(p.dataSync())));
    }
    // By name (no params): restores onto the same variables and reads back identically.
    const saved = structuredClone(opt.getState());
    const byName = new SgdNesterov({ lr: 0.1 });
    byName.setState(saved);
    expect(byName.getState()).toEqual(saved);
    [opt, resumed, byName].forEach((o) => o.dispose());
    [...a, ...b].forEach((p) => p.dispose());
  });

  it('setState rejects mismatched shapes and unknown variables, keeping its old state', () => {
    const params = makeParams(5);
    const opt = new SgdNesterov({ lr: 0.1 });
    const grads = new Map([[params[0]!, tf.ones(SHAPES[0]!)]]);
    opt.step(grads);
    const good = opt.getState(params);
    expect(() => opt.setState({ step: 1, buffers: [{ ...good.buffers[0]!, shape: [4, 3] }] }, [params[1]!])).toThrow(/shape/);
    expect(() => opt.setState({ step: 1, buffers: [{ name: 'no-such-variable', shape: [1], values: [0] }] })).toThrow(/no-such-variable/);
    expect(opt.getState(params)).toEqual(good);
    opt.dispose();
    grads.forEach((g) => g.dispose());
    params.forEach((p) => p.dispose());
  });

  it('leaks no tensors: one buffer per parameter on the first step, nothing after', () => {
    const params = makeParams(9);
    const grads = new Map(params.map((p, k) => [p, tf.tensor(gradValues(0)[k]!, p.shape)] as const));
    const opt = new SgdNesterov({ lr: 0.1 });
    const start = tf.memory().numTensors;
    opt.step(grads);
    expect(tf.memory().numTensors).toBe(start + params.length);
    const afterFirst = tf.memory().numTensors;
    for (let t = 0; t < 5; t++) opt.step(grads);
    opt.setState(opt.getState());
    expect(tf.memory().numTensors).toBe(afterFirst);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(start);
    grads.forEach((g) => g.dispose());
    params.forEach((p) => p.dispose());
  });

  it('rejects bad options and gradients with the bad values', () => {
    expect(() => new SgdNesterov({ lr: -1 })).toThrow(/-1/);
    expect(() => new SgdNesterov({ lr: Number.NaN })).toThrow(/NaN/);
    expect(() => new SgdNesterov({ lr: 0.1, momentum: 0 })).toThrow(/Nesterov.*momentum 0/);
    expect(() => new SgdNesterov({ lr: 0.1, dampening: 0.5 })).toThrow(/dampening 0.5/);
    const p = tf.variable(tf.zeros([2, 3]), true, 'sgd-test-p');
    const opt = new SgdNesterov({ lr: 0.1 });
    const g = tf.zeros([3, 2]);
    expect(() => opt.step(new Map([[p, g]]))).toThrow(/\[3,2\].*\[2,3\]/);
    expect(() => opt.step({ 'sgd-test-missing': g })).toThrow(/sgd-test-missing/);
    expect(() => opt.setLearningRate(-0.5)).toThrow(/-0.5/);
    opt.dispose();
    expect(() => opt.step(new Map())).toThrow(/dispose/);
    g.dispose();
    p.dispose();
  });
});

describe('learningRate follows methods.md 0.4', () => {
  const cosine: LearningRateSchedule = { kind: 'cosine', lr0: 0.8, epochs: 160 };
  const c = (e: number, lr0 = 0.8, E = 160): number => 0.5 * lr0 * (1 + Math.cos((Math.PI * e) / E));

  it('cosine with 10-epoch warm-up, E = 160, lr0 = 0.8: hand-computed values', () => {
    expect(learningRate(cosine, 1)).toBe(0.01); // c(1)·0 + 0.01·10/10
    // e=2: c(2) = 0.4·(1 + cos(π/80)) = 0.79969161..., ·1/10 + 0.01·9/10
    expect(learningRate(cosine, 2)).toBeCloseTo(0.079969161 + 0.009, 8);
    // e=10: c(10) = 0.4·(1 + cos(π/16)) = 0.79231411..., ·9/10 + 0.01·1/10
    expect(learningRate(cosine, 10)).toBeCloseTo(0.9 * 0.792314112 + 0.001, 8);
    // e=11: plain cosine c(11) = 0.4·(1 + cos(11π/160)) = 0.79070635...
    expect(learningRate(cosine, 11)).toBe(c(11));
    expect(learningRate(cosine, 11)).toBeCloseTo(0.790706353, 8);
    expect(learningRate(cosine, 80)).toBeCloseTo(0.4, 12); // E/2: cos(π/2) = 0
    expect(learningRate(cosine, 160)).toBeCloseTo(0, 12); // E: cos(π) = -1
  });

  it('warm-up rises steadily from 0.01 and meets the cosine without a jump', () => {
    const lrs = Array.from({ length: 12 }, (_, i) => learningRate(cosine, i + 1));
    for (let i = 1; i < 10; i++) expect(lrs[i]! - lrs[i - 1]!).toBeGreaterThan(0.07);
    // e=10 is 90% of the way; the step into e=11 is no bigger than a warm-up step.
    expect(lrs[10]! - lrs[9]!).toBeGreaterThan(0);
    expect(lrs[10]! - lrs[9]!).toBeLessThan(lrs[9]! - lrs[8]!);
    // After warm-up the cosine decreases.
    expect(lrs[11]!).toBeLessThan(lrs[10]!);
  });

  it('400 epochs (HPFF/MAN) and a custom warm-up', () => {
    const s: LearningRateSchedule = { kind: 'cosine', lr0: 0.1, epochs: 400 };
    expect(learningRate(s, 1)).toBe(0.01);
    expect(learningRate(s, 200)).toBeCloseTo(0.05, 12);
    expect(learningRate({ ...s, warmupEpochs: 0 }, 1)).toBe(c(1, 0.1, 400));
    expect(learningRate({ ...s, warmupEpochs: 5 }, 3)).toBeCloseTo((c(3, 0.1, 400) * 2) / 5 + (0.01 * 3) / 5, 12);
  });

  it('step schedule: ×0.1 at 80 and 120', () => {
    const step: LearningRateSchedule = { kind: 'step', lr0: 0.8, epochs: 160 };
    expect(learningRate(step, 1)).toBe(0.8);
    expect(learningRate(step, 79)).toBe(0.8);
    expect(learningRate(step, 80)).toBe(0.8 * 0.1);
    expect(learningRate(step, 119)).toBe(0.8 * 0.1);
    expect(learningRate(step, 120)).toBe(0.8 * 0.1 * 0.1);
    expect(learningRate(step, 160)).toBe(0.8 * 0.1 * 0.1);
    expect(learningRate({ ...step, milestones: [10], gamma: 0.5 }, 10)).toBe(0.4);
  });

  it('rejects bad inputs with the bad values', () => {
    expect(() => learningRate(cosine, 0)).toThrow(/1\.\.160, got 0/);
    expect(() => learningRate(cosine, 161)).toThrow(/got 161/);
    expect(() => learningRate(cosine, 1.5)).toThrow(/got 1.5/);
    expect(() => learningRate({ ...cosine, lr0: 0 }, 1)).toThrow(/lr0.*got 0/);
    expect(() => learningRate({ ...cosine, lr0: -0.1 }, 1)).toThrow(/got -0.1/);
    expect(() => learningRate({ ...cosine, epochs: 0 }, 1)).toThrow(/epochs.*got 0/);
    expect(() => learningRate({ ...cosine, warmupEpochs: -1 }, 1)).toThrow(/warmupEpochs.*-1/);
    expect(() => learningRate({ kind: 'step', lr0: 0.1, epochs: 10, gamma: 0 }, 1)).toThrow(/gamma.*got 0/);
    expect(() => learningRate({ kind: 'step', lr0: 0.1, epochs: 10, milestones: [2.5] }, 1)).toThrow(/2.5/);
    expect(() => learningRate({ kind: 'linear' as 'step', lr0: 0.1, epochs: 10 }, 1)).toThrow(/linear/);
  });

  it('describeSchedule gives one line', () => {
    expect(describeSchedule(cosine)).toBe('cosine from 0.8 over 160 epochs, 10-epoch linear warm-up from 0.01');
    expect(describeSchedule({ kind: 'step', lr0: 0.1, epochs: 160 })).toBe('step from 0.1 over 160 epochs, ×0.1 at epochs 80, 120');
    expect(describeSchedule({ ...cosine, warmupEpochs: 0 })).not.toContain('\n');
  });
});

describe('cosine over steps', () => {
  it('starts at lr0, halves at mid-run, ends at 0, and warms up from 0.01', () => {
    expect(cosineAt(0.1, 2, 0, 0)).toBeCloseTo(0.1, 12);
    expect(cosineAt(0.1, 2, 0, 1)).toBeCloseTo(0.05, 12);
    expect(cosineAt(0.1, 2, 0, 2)).toBeCloseTo(0, 12);
    // A 1-epoch run trains: the reference per-epoch reading would give lr 0 throughout.
    expect(cosineAt(0.1, 1, 0, 0.5)).toBeCloseTo(0.05, 12);
    expect(cosineAt(0.8, 160, 10, 0)).toBeCloseTo(0.01, 12);
    expect(cosineAt(0.8, 160, 10, 5)).toBeCloseTo(0.5 * (0.4 * (1 + Math.cos(Math.PI * 5 / 160))) + 0.005, 12);
    expect(cosineAt(0.8, 160, 10, 10)).toBeCloseTo(0.4 * (1 + Math.cos(Math.PI * 10 / 160)), 12);
    expect(() => cosineAt(0.1, 2, 0, 3)).toThrow('position must lie in 0..2 epochs, got 3');
  });
});

