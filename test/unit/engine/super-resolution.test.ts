/**
 * Super-resolution engine (issue 16) on wasm: the EDSR net's shapes, the split, gradient isolation
 * of the local methods' modules (simple local heads and GLCAN's, with its shared global branch),
 * end-to-end reach, learning on a real photograph, the SR data path and the PSNR/SSIM evaluation
 * against hand computations.
 */
import '@tensorflow/tfjs-layers';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../main/engine/backend/select';
import { createEdsr, type EdsrConfig, describeEdsr, evenSrCuts, pixelShuffle, SrConfigError, type SrFlow, srModuleRanges } from '../../../main/engine/tasks/super-resolution/edsr';
import { areaDownscale, bicubicDownscale, cropImage, listImages, makeSrPair, patchSampler, readPhotos } from '../../../main/engine/tasks/super-resolution/sr-data';
import { createSrOptimizer, evaluateSr, type SrMethod, SrTrainer } from '../../../main/engine/tasks/super-resolution/sr-trainer';
import type { RgbImage } from '../../../main/data/image-codec';

const PHOTO = path.resolve('node_modules/@vladmandic/face-api/demo/sample1.jpg');
const TINY: EdsrConfig = { scale: 2, features: 8, blocks: 4, resScale: 1 };

const read = (t: tf.Tensor) => Array.from(t.dataSync());
const nonZero = (t: tf.Tensor | undefined) => t !== undefined && read(t).some((v) => v !== 0);
const allZero = (t: tf.Tensor | undefined) => t === undefined || read(t).every((v) => v === 0);

function batch(n: number, size: number, scale: number, seed: number) {
  return { lr: tf.randomUniform([n, size, size, 3], 0, 1, 'float32', seed) as tf.Tensor4D, hr: tf.randomUniform([n, size * scale, size * scale, 3], 0, 1, 'float32', seed + 1) as tf.Tensor4D };
}

/** The constant inputs each module of `trainer` receives in a step (module i-1's output and F0). */
function moduleInputs(trainer: SrTrainer, lr: tf.Tensor4D, hr: tf.Tensor4D): SrFlow[] {
  const flows: SrFlow[] = [{ h: lr, skip: null }];
  for (let i = 0; i < trainer.modules.length - 1; i++) {
    const { loss, next } = trainer.moduleObjective(i, flows[i]!, hr);
    loss.dispose();
    flows.push(next!);
  }
  return flows;
}

describe('super-resolution engine', () => {
  let photo: RgbImage;

  beforeAll(async () => {
    await selectBackend('wasm');
    photo = readPhotos([PHOTO])[0]!;
  });

  it('pixel shuffle equals depthToSpace, and EDSR gives x2/x3/x4 outputs of the right shape', () => {
    const x = tf.randomNormal([2, 3, 4, 18], 0, 1, 'float32', 1) as tf.Tensor4D;
    expect(read(pixelShuffle(x, 3))).toEqual(read(tf.depthToSpace(x, 3)));
    for (const scale of [2, 3, 4] as const) {
      const model = createEdsr({ ...TINY, scale, blocks: 2 }, 1);
      const out = model.forward(tf.zeros([2, 5, 7, 3]) as tf.Tensor4D);
      expect(out.shape).toEqual([2, 5 * scale, 7 * scale, 3]);
      expect(describeEdsr(model.config, 5).at(-1)!.output).toEqual([5 * scale, 5 * scale, 3]);
      // The described parameter counts are the built net's.
      const described = describeEdsr(model.config, 5).reduce((s, u) => s + u.params, 0);
      expect(model.trainableVariables().reduce((s, v) => s + v.size, 0)).toBe(described);
      tf.dispose(out);
      model.dispose();
    }
  });

  it('splits the net by residual block and refuses bad cuts and settings with a clear message', () => {
    expect(srModuleRanges(4, [1])).toEqual([{ first: 0, last: 2 }, { first: 3, last: 5 }]);
    expect(srModuleRanges(4, [3, 0])).toEqual([{ first: 0, last: 1 }, { first: 2, last: 4 }, { first: 5, last: 5 }]);
    expect(evenSrCuts(16, 4)).toEqual([3, 7, 11]);
    expect(evenSrCuts(5, 2)).toEqual([2]);
    expect(() => srModuleRanges(4, [4])).toThrow(/block indices from 0 to 3/);
    expect(() => srModuleRanges(4, [1, 1])).toThrow(/twice/);
    expect(() => createEdsr({ ...TINY, scale: 5 as 2 }, 0)).toThrow(SrConfigError);
    const model = createEdsr(TINY, 0);
    expect(() => new SrTrainer({ model, method: 'glcan', cuts: [], seed: 0 })).toThrow(/at least one cut/);
    model.dispose();
  });

  it('end-to-end: the L1 loss reaches every variable', () => {
    const model = createEdsr(TINY, 2);
    const trainer = new SrTrainer({ model, method: 'e2e', cuts: [], seed: 2 });
    const { lr, hr } = batch(2, 6, 2, 3);
    const { grads } = tf.variableGrads(() => trainer.moduleObjective(0, { h: lr, skip: null }, hr).loss, trainer.trainableVariables());
    const all = trainer.trainableVariables();
    expect(all.length).toBe(model.trainableVariables().length);
    for (const v of all) expect(nonZero(grads[v.name]), v.name).toBe(true);
    tf.dispose([...Object.values(grads), lr, hr]);
    trainer.dispose();
    model.dispose();
  });

  for (const method of ['local', 'glcan'] as const) {
    it(`${method}: each module's loss reaches all its own variables and none of any other module's`, () => {
      const model = createEdsr(TINY, 4);
      const trainer = new SrTrainer({ model, method, cuts: [0, 2], seed: 4 });
      expect(trainer.modules.map((m) => m.units.map((u) => u.info.kind))).toEqual([['head', 'block'], ['block', 'block'], ['block', 'tail']]);
      const all = trainer.trainableVariables();
      expect(new Set(all).size).toBe(all.length);
      const { lr, hr } = batch(2, 6, 2, 5);
      const flows = moduleInputs(trainer, lr, hr);
      const global = new Set(trainer.global?.variables ?? []);
      trainer.modules.forEach((m, i) => {
        const { grads } = tf.variableGrads(() => trainer.moduleObjective(i, flows[i]!, hr).loss, all);
        const own = new Set([...m.units.flatMap((u) => u.trainableVariables), ...(m.head?.ownVariables ?? [])]);
        for (const v of all) {
          if (own.has(v)) expect(nonZero(grads[v.name]), `module ${i} own ${v.name}`).toBe(true);
          else if (global.has(v)) expect(nonZero(grads[v.name]), `module ${i} global ${v.name}`).toBe(i < trainer.modules.length - 1);
          else expect(allZero(grads[v.name]), `module ${i} reached ${v.name}`).toBe(true);
        }
        tf.dispose(Object.values(grads));
      });
      // The step differentiates exactly these objectives: its gradients are their sums (GLCAN's global branch: over every local module).
      const step = trainer.computeGradients(lr, hr);
      const summed = new Map<tf.Variable, tf.Tensor>();
      trainer.modules.forEach((_, i) => {
        const { grads } = tf.variableGrads(() => trainer.moduleObjective(i, flows[i]!, hr).loss, trainer.moduleVariables(i));
        for (const v of trainer.moduleVariables(i)) summed.set(v, summed.has(v) ? tf.add(summed.get(v)!, grads[v.name]!) : grads[v.name]!);
      });
      expect(step.grads.size).toBe(all.length);
      for (const v of all) expect(tf.max(tf.abs(tf.sub(step.grads.get(v)!, summed.get(v)!))).dataSync()[0], v.name).toBeLessThan(1e-5);
      tf.dispose([...step.grads.values(), ...summed.values(), ...step.losses]);
      if (method === 'glcan') {
        // The global branch is one net: every local head lists the same variables as shared.
        expect(global.size).toBeGreaterThan(0);
        expect(trainer.modules[0]!.head!.sharedVariables).toEqual(trainer.modules[1]!.head!.sharedVariables);
        expect(trainer.moduleVariables(1).filter((v) => global.has(v))).toHaveLength(global.size);
        expect(trainer.moduleVariables(2).filter((v) => global.has(v))).toHaveLength(0);
      } else expect(trainer.global).toBeNull();
      tf.dispose([lr, hr]);
      trainer.dispose();
      model.dispose();
    });

    it(`${method}: the step's gradients of a module do not move when later modules' weights change`, () => {
      const model = createEdsr(TINY, 6);
      const trainer = new SrTrainer({ model, method, cuts: [1], seed: 6 });
      const { lr, hr } = batch(2, 6, 2, 7);
      const first = trainer.computeGradients(lr, hr);
      expect(first.grads.size).toBe(trainer.trainableVariables().length);
      const snapshot = (vs: tf.Variable[], g: Map<tf.Variable, tf.Tensor>) => vs.map((v) => read(g.get(v)!));
      const upstream = trainer.moduleVariables(0);
      const before = snapshot(upstream, first.grads);
      tf.tidy(() => {
        for (const v of trainer.moduleVariables(1).filter((w) => !trainer.global?.variables.includes(w))) v.assign(tf.mul(v, 1.5));
      });
      const second = trainer.computeGradients(lr, hr);
      expect(snapshot(upstream, second.grads)).toEqual(before);
      expect(snapshot(trainer.moduleVariables(1), second.grads)).not.toEqual(snapshot(trainer.moduleVariables(1), first.grads));
      tf.dispose([...first.grads.values(), ...second.grads.values(), ...first.losses, ...second.losses]);
      // A step keeps nothing but its gradients and losses: the handed-on maps and F0 are freed.
      const tensors = tf.memory().numTensors;
      const third = trainer.computeGradients(lr, hr);
      tf.dispose([...third.grads.values(), ...third.losses, lr, hr]);
      expect(tf.memory().numTensors).toBe(tensors - 2);
      trainer.dispose();
      model.dispose();
    });
  }

  it('a few Adam steps of each method lower the net\'s L1 on a real photograph', () => {
    const pairs = [cropImage(photo, 700, 300, 128, 128), cropImage(photo, 1100, 600, 128, 128)].map((hr) => makeSrPair(hr, 2));
    const held = patchSampler(pairs, { batch: 8, lrPatch: 12, scale: 2, augment: false }, 99)();
    const l1 = (model: ReturnType<typeof createEdsr>) => tf.tidy(() => tf.mean(tf.abs(tf.sub(model.forward(held.lr), held.hr))).dataSync()[0]!);
    for (const method of ['e2e', 'local', 'glcan'] as SrMethod[]) {
      const model = createEdsr(TINY, 8);
      const trainer = new SrTrainer({ model, method, cuts: [1], seed: 8 });
      const optimizer = createSrOptimizer(2e-3);
      const next = patchSampler(pairs, { batch: 4, lrPatch: 12, scale: 2 }, 8);
      const before = l1(model);
      for (let s = 0; s < 25; s++) {
        const { lr, hr } = next();
        tf.dispose([...trainer.step(lr, hr, optimizer), lr, hr]);
      }
      const after = l1(model);
      expect(after, `${method}: L1 ${before} -> ${after}`).toBeLessThan(before * 0.8);
      optimizer.dispose();
      trainer.dispose();
      model.dispose();
    }
    tf.dispose([held.lr, held.hr]);
  });

  it('PSNR and SSIM through the evaluation path (quantised output, Y, border crop) equal a hand computation', () => {
    // Every weight 0: the net outputs EDSR's RGB mean, quantised to (114, 111, 103) everywhere.
    const model = createEdsr({ ...TINY, blocks: 1 }, 0);
    for (const v of model.trainableVariables()) v.assign(tf.zerosLike(v));
    // HR 16x16: inside the 2 px border (x2 crops 2) R is 10 above the output; the border is junk the crop must ignore.
    const hr = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 3) };
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const inside = x >= 2 && x < 14 && y >= 2 && y < 14;
        hr.data.set(inside ? [124, 111, 103] : [255, 0, (x * 37 + y * 11) % 256], (y * 16 + x) * 3);
      }
    }
    const lr = { width: 8, height: 8, data: new Uint8Array(8 * 8 * 3).fill(77) };
    const scores = evaluateSr(model, [{ lr, hr }]);
    // Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255: the Y difference is 10 * 65.481 / 255 everywhere inside.
    const dy = (10 * 65.481) / 255;
    expect(scores.psnr).toBeCloseTo(20 * Math.log10(255 / dy), 6);
    // Constant images: SSIM = (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1), C1 = (0.01 * 255)^2.
    const ya = 16 + (65.481 * 114 + 128.553 * 111 + 24.966 * 103) / 255;
    const yb = ya + dy;
    const c1 = (0.01 * 255) ** 2;
    expect(scores.ssim).toBeCloseTo((2 * ya * yb + c1) / (ya * ya + yb * yb + c1), 9);
    model.dispose();
  });

  it('bicubic downscaling is MATLAB imresize\'s (a ramp stays a ramp inside), area is the cell mean, and patches stay aligned', () => {
    // A horizontal ramp 4 (x - 1) (x 1-based): output X samples u = 2X - 0.5, so 8X - 6 away from the edges.
    const ramp = { width: 32, height: 8, data: new Uint8Array(32 * 8 * 3) };
    for (let y = 0; y < 8; y++) for (let x = 0; x < 32; x++) ramp.data.fill(4 * x, (y * 32 + x) * 3, (y * 32 + x) * 3 + 3);
    const small = bicubicDownscale(ramp, 2);
    expect([small.width, small.height]).toEqual([16, 4]);
    for (let X = 3; X <= 14; X++) expect(small.data[(1 * 16 + X - 1) * 3]).toBe(8 * X - 6);
    const flat = bicubicDownscale({ width: 9, height: 9, data: new Uint8Array(243).fill(200) }, 3);
    expect(Array.from(flat.data)).toEqual(new Array(27).fill(200));
    const area = areaDownscale({ width: 2, height: 2, data: Uint8Array.from([0, 0, 0, 10, 10, 10, 20, 20, 20, 31, 31, 31]) }, 2);
    expect(Array.from(area.data)).toEqual([15, 15, 15]); // (0 + 10 + 20 + 31) / 4 = 15.25

    // Area pairs: average-pooling any sampled HR patch (flipped, transposed) gives its LR patch, to 8-bit rounding.
    const pair = makeSrPair(cropImage(photo, 600, 400, 96, 96), 3, 'area');
    const sample = patchSampler([pair], { batch: 6, lrPatch: 8, scale: 3 }, 5);
    const { lr, hr } = sample();
    expect(lr.shape).toEqual([6, 8, 8, 3]);
    expect(hr.shape).toEqual([6, 24, 24, 3]);
    const pooled = tf.avgPool(hr, 3, 3, 'valid');
    expect(tf.max(tf.abs(tf.sub(pooled, lr))).dataSync()[0]).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
    // Same seed, same batch.
    const again = patchSampler([pair], { batch: 6, lrPatch: 8, scale: 3 }, 5)();
    expect(read(again.lr)).toEqual(read(lr));
    expect(() => patchSampler([pair], { batch: 1, lrPatch: 40, scale: 3 }, 0)).toThrow(/smaller than the 40 px patch/);
    // Folders and files: photos found by extension, a missing folder and a non-image refused naming them.
    expect(listImages(path.dirname(PHOTO)).map((f) => path.basename(f))).toContain('sample1.jpg');
    expect(() => listImages(path.join(path.dirname(PHOTO), 'missing'))).toThrow(/missing is not a folder/);
    expect(() => readPhotos([path.resolve('package.json')])).toThrow(/package\.json: .*not a PNG or JPEG/);
    tf.dispose([lr, hr, pooled, again.lr, again.hr]);
  });
});
