/**
 * Bilinear grid sampling (main/speak/model/warp.ts): exact identity, a one-pixel shift, and
 * gradients w.r.t. image and flow checked against finite differences, on cpu and on wasm (the
 * image gradient is a scatter-add the wasm backend has, unlike tf.gather's own gradient).
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../../main/engine/backend/select';
import { identityGrid, pixelsFromNormalised, warp } from '../../../main/speak/model/warp';

function randomImage(n: number, h: number, w: number, c: number, seed: number): tf.Tensor4D {
  return tf.randomUniform([n, h, w, c], 0, 1, 'float32', seed) as tf.Tensor4D;
}

describe.each(['cpu', 'wasm'] as const)('warp on %s', (backend) => {
  it('returns the input exactly under the identity flow, and [-1, 1] corners map to the corner pixels', async () => {
    await selectBackend(backend);
    const image = randomImage(2, 7, 9, 3, 1);
    const grid = tf.tile(identityGrid(7, 9), [2, 1, 1, 1]);
    const out = warp(image, grid);
    expect(out.shape).toEqual([2, 7, 9, 3]);
    expect(Array.from(out.dataSync())).toEqual(Array.from(image.dataSync()));
    const corners = pixelsFromNormalised(tf.tensor4d([-1, -1, 1, 1], [1, 1, 2, 2]), 7, 9);
    expect(Array.from(corners.dataSync())).toEqual([0, 0, 8, 6]);
    tf.dispose([image, grid, out, corners]);
  });

  it('a constant shift of one pixel moves the image by one pixel in the interior, and clamps at the border', async () => {
    await selectBackend(backend);
    const image = randomImage(1, 6, 8, 2, 2);
    // Sample one pixel to the right: out(x, y) = in(x + 1, y).
    const flow = tf.add(identityGrid(6, 8), tf.tensor1d([1, 0])) as tf.Tensor4D;
    const out = warp(image, flow).arraySync() as number[][][][];
    const input = image.arraySync() as number[][][][];
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 7; x++) expect(out[0]![y]![x]).toEqual(input[0]![y]![x + 1]);
      expect(out[0]![y]![7]).toEqual(input[0]![y]![7]); // past the right edge: the edge pixel
    }
    // Half a pixel down: the mean of two rows.
    const half = warp(image, tf.add(identityGrid(6, 8), tf.tensor1d([0, 0.5])) as tf.Tensor4D).arraySync() as number[][][][];
    expect(half[0]![2]![3]![1]).toBeCloseTo((input[0]![2]![3]![1]! + input[0]![3]![3]![1]!) / 2, 6);
    tf.dispose([image, flow]);
  });

  it('gradients w.r.t. the image and the flow are finite, nonzero and match finite differences', async () => {
    await selectBackend(backend);
    const image = randomImage(2, 5, 6, 2, 3);
    const displacement = tf.randomUniform([2, 5, 6, 2], -1.3, 1.3, 'float32', 4);
    const flow = tf.add(identityGrid(5, 6), displacement) as tf.Tensor4D;
    const weights = randomImage(2, 5, 6, 2, 5); // a random linear read-out makes the loss sensitive everywhere
    const loss = (img: tf.Tensor4D, fl: tf.Tensor4D) => tf.sum(tf.mul(warp(img, fl), weights)) as tf.Scalar;
    const [dImage, dFlow] = tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(a as tf.Tensor4D, b as tf.Tensor4D))([image, flow]);
    const gi = dImage!.dataSync();
    const gf = dFlow!.dataSync();
    expect(gi.every(Number.isFinite) && gf.every(Number.isFinite)).toBe(true);
    expect(Math.max(...Array.from(gi, Math.abs))).toBeGreaterThan(0.1);
    expect(Math.max(...Array.from(gf, Math.abs))).toBeGreaterThan(0.1);

    const flowValues = (flow.dataSync() as Float32Array).slice();
    const imageValues = (image.dataSync() as Float32Array).slice();
    const at = (f: Float32Array, i: Float32Array) => loss(tf.tensor4d(i, image.shape), tf.tensor4d(f, flow.shape)).dataSync()[0]!;
    const eps = 1e-2;
    // Flow: an interior position whose fraction stays inside (0, 1) for +- eps (the loss is piecewise linear).
    let checkedFlow = 0;
    for (let i = 0; i < flowValues.length && checkedFlow < 3; i++) {
      const v = flowValues[i]!;
      const limit = i % 2 === 0 ? 5 : 4;
      const frac = v - Math.floor(v);
      if (v < 0.5 || v > limit - 0.5 || frac < 0.1 || frac > 0.9) continue;
      const plus = flowValues.slice();
      const minus = flowValues.slice();
      plus[i] = v + eps;
      minus[i] = v - eps;
      const numeric = (at(plus, imageValues) - at(minus, imageValues)) / (2 * eps);
      expect(gf[i]!).toBeCloseTo(numeric, 2);
      checkedFlow++;
    }
    expect(checkedFlow).toBe(3);
    // Image: exactly linear in the image, so a central difference is exact up to rounding.
    for (const i of [0, 7, 33, 59]) {
      const plus = imageValues.slice();
      const minus = imageValues.slice();
      plus[i] = imageValues[i]! + eps;
      minus[i] = imageValues[i]! - eps;
      const numeric = (at(flowValues, plus) - at(flowValues, minus)) / (2 * eps);
      expect(gi[i]!).toBeCloseTo(numeric, 2);
    }
    tf.dispose([image, displacement, flow, weights, dImage!, dFlow!]);
  });
});
