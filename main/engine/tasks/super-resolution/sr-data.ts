/**
 * Low-/high-resolution pairs for super-resolution from any RGB images, made the way SR data sets
 * (DIV2K, Set5, ...) are made: the HR image is cropped to a multiple of the scale ("modcrop") and
 * downscaled once, whole, by MATLAB's imresize(hr, 1/scale, 'bicubic') (antialiased cubic, a =
 * -0.5, symmetric edges, rounded to 8 bits), reimplemented here; 'area' (a box average of each
 * scale x scale cell) is offered as the cheaper alternative. TF.js's resizeBilinear has no
 * antialiasing, so it is not used. Between the two passes the values stay unrounded (MATLAB
 * rounds after each pass for uint8 input: at most 1 grey level apart).
 *
 * Training batches are seeded random crops of aligned LR/HR patches with EDSR's augmentation
 * (horizontal flip, vertical flip, transpose, each with probability 1/2).
 */
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import path from 'node:path';
import { decodeImage, type RgbImage } from '../../../data/image-codec';
import { createRng } from '../../../data/random';

export type Downscale = 'bicubic' | 'area';

export interface SrPair {
  lr: RgbImage;
  hr: RgbImage;
}

/** An 8-bit RGB image as a float [H, W, 3] tensor in [0, 1]. */
export function imageToTensor(image: RgbImage): tf.Tensor3D {
  return tf.tidy(() => tf.div(tf.tensor3d(image.data, [image.height, image.width, 3], 'int32'), 255) as tf.Tensor3D);
}

/** The part of `image` from (x, y), width x height. */
export function cropImage(image: RgbImage, x: number, y: number, width: number, height: number): RgbImage {
  if (x < 0 || y < 0 || x + width > image.width || y + height > image.height) {
    throw new Error(`A ${width}x${height} crop at (${x}, ${y}) does not fit in a ${image.width}x${image.height} image`);
  }
  const data = new Uint8Array(width * height * 3);
  for (let row = 0; row < height; row++) data.set(image.data.subarray(((y + row) * image.width + x) * 3, ((y + row) * image.width + x + width) * 3), row * width * 3);
  return { width, height, data };
}

/** The image cropped (top left kept) to a multiple of `scale` on both sides, so LR x scale = HR exactly. */
export function modcrop(image: RgbImage, scale: number): RgbImage {
  return cropImage(image, 0, 0, image.width - (image.width % scale), image.height - (image.height % scale));
}

/** Keys' cubic with a = -0.5 (MATLAB imresize's 'bicubic'). */
function cubic(x: number): number {
  const a = Math.abs(x);
  if (a <= 1) return 1.5 * a ** 3 - 2.5 * a ** 2 + 1;
  if (a <= 2) return -0.5 * a ** 3 + 2.5 * a ** 2 - 4 * a + 2;
  return 0;
}

/** For each output index: the input indices (0-based, edges mirrored) and normalised weights, as MATLAB's contributions(). */
function contributions(inLength: number, outLength: number, scale: number): { index: Int32Array; weight: Float64Array }[] {
  const antialias = scale < 1;
  const width = antialias ? 4 / scale : 4;
  const kernel = (x: number) => (antialias ? scale * cubic(scale * x) : cubic(x));
  const taps = Math.ceil(width) + 2;
  const mirror = (i: number) => {
    // 1-based i mapped into 1..inLength by symmetric padding (aux = [1..n, n..1]).
    const m = (((i - 1) % (2 * inLength)) + 2 * inLength) % (2 * inLength);
    return m < inLength ? m : 2 * inLength - 1 - m;
  };
  const out: { index: Int32Array; weight: Float64Array }[] = [];
  for (let x = 1; x <= outLength; x++) {
    const u = x / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - width / 2);
    const index: number[] = [];
    const weight: number[] = [];
    for (let p = 0; p < taps; p++) {
      const w = kernel(u - (left + p));
      if (w === 0) continue;
      index.push(mirror(left + p));
      weight.push(w);
    }
    const total = weight.reduce((s, w) => s + w, 0);
    out.push({ index: Int32Array.from(index), weight: Float64Array.from(weight.map((w) => w / total)) });
  }
  return out;
}

/** MATLAB imresize(image, 1/scale, 'bicubic') for an integer scale: rows first, then columns, rounded to 8 bits. */
export function bicubicDownscale(image: RgbImage, scale: number): RgbImage {
  const hr = modcrop(image, scale);
  const width = hr.width / scale;
  const height = hr.height / scale;
  if (width < 1 || height < 1) throw new Error(`A ${image.width}x${image.height} image is smaller than the scale ${scale}`);
  const rows = contributions(hr.height, height, 1 / scale);
  const cols = contributions(hr.width, width, 1 / scale);
  // Pass 1 along the height: [height, hr.width, 3].
  const mid = new Float64Array(height * hr.width * 3);
  for (let y = 0; y < height; y++) {
    const { index, weight } = rows[y]!;
    for (let x = 0; x < hr.width; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let t = 0; t < index.length; t++) acc += weight[t]! * hr.data[(index[t]! * hr.width + x) * 3 + c]!;
        mid[(y * hr.width + x) * 3 + c] = acc;
      }
    }
  }
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const { index, weight } = cols[x]!;
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let t = 0; t < index.length; t++) acc += weight[t]! * mid[(y * hr.width + index[t]!) * 3 + c]!;
        data[(y * width + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(acc)));
      }
    }
  }
  return { width, height, data };
}

/** The mean of each scale x scale cell, rounded to 8 bits (area / box downscaling). */
export function areaDownscale(image: RgbImage, scale: number): RgbImage {
  const hr = modcrop(image, scale);
  const width = hr.width / scale;
  const height = hr.height / scale;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) acc += hr.data[((y * scale + dy) * hr.width + x * scale + dx) * 3 + c]!;
        data[(y * width + x) * 3 + c] = Math.round(acc / (scale * scale));
      }
    }
  }
  return { width, height, data };
}

/** An aligned LR/HR pair from an HR image: modcrop, then the whole image downscaled once. */
export function makeSrPair(image: RgbImage, scale: number, downscale: Downscale = 'bicubic'): SrPair {
  if (!(Number.isInteger(scale) && scale >= 2)) throw new Error(`The scale must be a whole number of at least 2 (got ${scale})`);
  const hr = modcrop(image, scale);
  return { hr, lr: downscale === 'bicubic' ? bicubicDownscale(hr, scale) : areaDownscale(hr, scale) };
}

/** The PNG and JPEG files directly in `dir`, sorted by name: an SR training folder needs no class subfolders. */
export function listImages(dir: string): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder: give a folder of PNG or JPEG photographs`);
  const files = fs.readdirSync(dir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort().map((f) => path.join(dir, f));
  if (files.length === 0) throw new Error(`${dir} holds no .png, .jpg or .jpeg files: put the photographs directly in it`);
  return files;
}

/** Decode PNG/JPEG files into RGB images; a file that is not one is refused naming it. */
export function readPhotos(paths: readonly string[]): RgbImage[] {
  return paths.map((file) => {
    try {
      return decodeImage(fs.readFileSync(file));
    } catch (error) {
      throw new Error(`${file}: ${(error as Error).message}`);
    }
  });
}

export interface PatchBatchOptions {
  batch: number;
  /** LR patch side; the HR patch is lrPatch x scale. */
  lrPatch: number;
  scale: number;
  /** Apply EDSR's flips and transpose. Default true. */
  augment?: boolean;
}

/**
 * Copy a p x p patch at (x, y) of `image` into `out` at `offset` as floats in [0, 1], transformed:
 * transpose first, then the flips (the same transform on LR and HR keeps them aligned).
 */
function copyPatch(image: RgbImage, x: number, y: number, p: number, t: { transpose: boolean; hflip: boolean; vflip: boolean }, out: Float32Array, offset: number): void {
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < p; j++) {
      let si = t.transpose ? j : i;
      let sj = t.transpose ? i : j;
      if (t.vflip) si = p - 1 - si;
      if (t.hflip) sj = p - 1 - sj;
      const src = ((y + si) * image.width + x + sj) * 3;
      const dst = offset + (i * p + j) * 3;
      out[dst] = image.data[src]! / 255;
      out[dst + 1] = image.data[src + 1]! / 255;
      out[dst + 2] = image.data[src + 2]! / 255;
    }
  }
}

/**
 * A seeded source of training batches: each call takes `batch` random aligned patches from random
 * pairs (LR [B, p, p, 3], HR [B, sp, sp, 3], floats in [0, 1]). The same seed gives the same batches.
 */
export function patchSampler(pairs: readonly SrPair[], options: PatchBatchOptions, seed: number): () => { lr: tf.Tensor4D; hr: tf.Tensor4D } {
  const { batch, lrPatch: p, scale: s } = options;
  if (pairs.length === 0) throw new Error('Super-resolution training needs at least one image');
  for (const [i, pair] of pairs.entries()) {
    if (pair.lr.width < p || pair.lr.height < p) throw new Error(`Image ${i} is ${pair.lr.width}x${pair.lr.height} at low resolution, smaller than the ${p} px patch: use a smaller patch or larger images`);
    if (pair.hr.width !== pair.lr.width * s || pair.hr.height !== pair.lr.height * s) throw new Error(`Image ${i}: the HR image is not the LR image x ${s} (make pairs with makeSrPair)`);
  }
  const augment = options.augment ?? true;
  const rng = createRng(seed);
  const pick = (n: number) => Math.floor(rng() * n);
  return () => {
    const lr = new Float32Array(batch * p * p * 3);
    const hr = new Float32Array(batch * p * s * p * s * 3);
    for (let b = 0; b < batch; b++) {
      const pair = pairs[pick(pairs.length)]!;
      const x = pick(pair.lr.width - p + 1);
      const y = pick(pair.lr.height - p + 1);
      const t = augment ? { hflip: rng() < 0.5, vflip: rng() < 0.5, transpose: rng() < 0.5 } : { hflip: false, vflip: false, transpose: false };
      copyPatch(pair.lr, x, y, p, t, lr, b * p * p * 3);
      copyPatch(pair.hr, x * s, y * s, p * s, t, hr, b * p * s * p * s * 3);
    }
    return { lr: tf.tensor4d(lr, [batch, p, p, 3]), hr: tf.tensor4d(hr, [batch, p * s, p * s, 3]) };
  };
}
