/** The face instruments' plumbing without running a model: where the weights are found, what ships, image resampling, tensor methods. */
import fs from 'node:fs';
import path from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import manifest from '../../../resources/face-models/models.json';
import { registerChainedOps } from '../../../main/speak/instruments/chained-ops';
import { alignedCropBox, cutCrop } from '../../../main/speak/instruments/face-finder';
import { locateModels, packageDir } from '../../../main/speak/instruments/model-files';
import { cropImage, mirrorImage, transformImage } from '../../../main/speak/instruments/image-warp';
import { descriptorDistance, isSamePerson, SAME_PERSON_DISTANCE } from '../../../main/speak/instruments/identity';
import { readImage } from '../../../main/speak/instruments/image-input';
import type { Point } from '../../../main/speak/instruments/detect-faces';

/** A w x h image whose pixel (x, y) is (x, y, 7). */
function coordinates(width: number, height: number) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x, y, 7], (y * width + x) * 3);
  return { width, height, data };
}
const pixel = (image: { width: number; data: Uint8Array }, x: number, y: number) => Array.from(image.data.subarray((y * image.width + x) * 3, (y * image.width + x) * 3 + 3));

describe('face model files', () => {
  it('lists for each family files that exist in its installed package, 15 MB in all', () => {
    let bytes = 0;
    for (const family of ['faceApi', 'human'] as const) {
      const dir = path.join(packageDir(manifest[family].package), manifest[family].folder);
      for (const file of manifest[family].files) bytes += fs.statSync(path.join(dir, file)).size;
    }
    expect(bytes).toBeGreaterThan(14e6);
    expect(bytes).toBeLessThan(16e6);
  });

  it('finds every file of each family in one folder: the shipped copies after a build, else the package', () => {
    for (const family of ['faceApi', 'human'] as const) {
      const found = locateModels(family);
      for (const file of found.files) expect(fs.existsSync(path.join(found.dir, file)), `${found.dir}/${file}`).toBe(true);
      const copies = path.resolve('resources', 'face-models', family);
      const built = manifest[family].files.every((file) => fs.existsSync(path.join(copies, file)));
      expect(found.source).toBe(built ? 'resources' : 'package');
    }
  });

  it('ships resources/ (with the copies) and leaves the packages\' own model folders out of the installer', () => {
    const config = parse(fs.readFileSync('electron-builder.yml', 'utf8'));
    expect(config.extraResources).toContainEqual(expect.objectContaining({ from: 'resources', to: 'resources' }));
    expect(config.files).toContain('!**/node_modules/@vladmandic/human/models/**');
    expect(config.files).toContain('!**/node_modules/@vladmandic/face-api/model/**');
    expect(fs.readFileSync('.gitignore', 'utf8')).toMatch(/^resources\/face-models\/\*\/$/m);
    expect(fs.readFileSync('scripts/build.mjs', 'utf8')).toMatch(/copyFaceModels\(\)/);
  });
});

describe('image resampling', () => {
  it('mirrors exactly and twice gives the original back', () => {
    const image = coordinates(5, 3);
    const mirrored = mirrorImage(image);
    expect(pixel(mirrored, 0, 1)).toEqual([4, 1, 7]);
    expect(mirrorImage(mirrored).data).toEqual(image.data);
  });

  it('rotates clockwise on screen: the pixel right of the centre moves below it', () => {
    const image = coordinates(9, 9);
    const turned = transformImage(image, { degrees: 90 });
    // (6, 4) is right of the centre (4.5, 4.5 in pixel-centre terms); clockwise by 90 it lands at (4, 6).
    expect(pixel(turned, 4, 6)).toEqual([6, 4, 7]);
  });

  it('scales about the centre and shifts by whole pixels exactly', () => {
    const image = coordinates(8, 8);
    expect(pixel(transformImage(image, { dx: 2, dy: -1 }), 5, 2)).toEqual([3, 3, 7]);
    expect(pixel(transformImage(image, { scale: 2 }), 4, 4)).toEqual([4, 4, 7]);
    expect(pixel(cropImage(image, 2, 3, 4, 4), 0, 0)).toEqual([2, 3, 7]);
    expect(pixel(cropImage(image, -2, 0, 4, 4), 0, 0)).toEqual([0, 0, 0]); // outside: the fill colour
  });

  it('cuts an aligned crop whose eye line is level and whose corners are the box it reports', () => {
    // Synthetic landmarks: eyes 40 px apart tilted by +20 degrees (clockwise), mouth below them.
    const t = (20 * Math.PI) / 180;
    const at = (u: number, v: number): Point => [200 + u * Math.cos(t) - v * Math.sin(t), 150 + u * Math.sin(t) + v * Math.cos(t)];
    const landmarks: Point[] = Array.from({ length: 68 }, () => at(0, 0));
    for (let i = 36; i < 42; i++) landmarks[i] = at(-20, 0);
    for (let i = 42; i < 48; i++) landmarks[i] = at(20, 0);
    for (let i = 48; i < 68; i++) landmarks[i] = at(0, 45);
    const box = alignedCropBox(landmarks, 0.5);
    expect(box.angle).toBeCloseTo(20, 6);
    expect(box.side).toBeCloseTo(2 * Math.max(80, 1.8 * 45), 6);
    const [tl, tr] = box.corners;
    expect((Math.atan2(tr[1] - tl[1], tr[0] - tl[0]) * 180) / Math.PI).toBeCloseTo(20, 6);
    expect(Math.hypot(tr[0] - tl[0], tr[1] - tl[1])).toBeCloseTo(box.side, 6);
    // Mark the two eyes in an image; in the crop they sit on one row, left and right of the centre.
    const image = { width: 400, height: 300, data: new Uint8Array(400 * 300 * 3) };
    for (const [x, y] of [at(-20, 0), at(20, 0)]) {
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) image.data.set([255, 255, 255], ((Math.round(y) + dy) * 400 + Math.round(x) + dx) * 3);
    }
    const crop = cutCrop(image, box, 170);
    const bright: [number, number][] = [];
    for (let y = 0; y < 170; y++) for (let x = 0; x < 170; x++) if (crop.data[(y * 170 + x) * 3]! > 200) bright.push([x, y]);
    const left = bright.filter(([x]) => x < 85);
    const right = bright.filter(([x]) => x >= 85);
    const meanY = (points: [number, number][]) => points.reduce((s, [, y]) => s + y, 0) / points.length;
    expect(left.length).toBeGreaterThan(4);
    expect(right.length).toBeGreaterThan(4);
    expect(Math.abs(meanY(left) - meanY(right))).toBeLessThan(1);
  });
});

describe('identity threshold and inputs', () => {
  it('calls descriptors closer than 0.6 the same person, as face-api\'s FaceMatcher does', () => {
    const a = new Float32Array(128);
    const b = new Float32Array(128);
    b[0] = 0.59;
    expect(SAME_PERSON_DISTANCE).toBe(0.6);
    expect(descriptorDistance(a, b)).toBeCloseTo(0.59, 6);
    expect(isSamePerson(a, b)).toBe(true);
    b[1] = 0.2;
    expect(isSamePerson(a, b)).toBe(false);
    expect(() => descriptorDistance(a, new Float32Array(64))).toThrow(/differ in length \(128 and 64\)/);
  });

  it('says what is wrong with a file that is not an image', async () => {
    await expect(readImage(new TextEncoder().encode('not a picture'))).rejects.toThrow(/not a PNG or JPEG.*Choose a PNG or JPEG photo/);
  });
});

describe('tensor methods face-api calls', () => {
  it('are added to tfjs-core tensors and compute what the functions do', async () => {
    await tf.setBackend('cpu');
    registerChainedOps();
    const t = tf.tensor2d([1, -2, 3, -4], [2, 2]) as tf.Tensor & Record<string, (...args: unknown[]) => tf.Tensor>;
    expect(t.as3D!(1, 2, 2).shape).toEqual([1, 2, 2]);
    expect(await t.relu!().data()).toEqual(new Float32Array([1, 0, 3, 0]));
    expect(await t.concat!(t, 0).array()).toEqual([[1, -2], [3, -4], [1, -2], [3, -4]]);
    expect(t.toFloat!().dtype).toBe('float32');
    expect(await (t.expandDims!(0) as tf.Tensor).array()).toEqual([[[1, -2], [3, -4]]]);
  });
});
