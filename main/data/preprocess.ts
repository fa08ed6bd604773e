/**
 * Per-data-set normalisation and training augmentation, as the reference code applies them
 * (InfoPro/HPFF/MAN train.py; ../shared/docs/methods.md section 0.4):
 *   CIFAR-10  reflect-pad 4, random 32x32 crop, horizontal flip; mean/std of CIFAR-10
 *   SVHN      zero-pad 2, random 32x32 crop, no flip;           mean 0.5, std 0.5
 *   STL-10    zero-pad 4, random 96x96 crop, horizontal flip;  mean 0.5, std 0.5
 * The test split is only normalised. MNIST and image folders are not in the papers: MNIST
 * gets its customary mean/std and no augmentation, image folders ImageNet's mean/std with a
 * CIFAR-style crop and flip.
 */
import type { DatasetKind } from '../../shared/ids';
import { randomInt } from './random';
import type { Dataset, ImageShape, SplitSource } from './types';

export interface Normalization {
  /** Per channel, on the 0..1 scale. */
  mean: readonly number[];
  std: readonly number[];
}

export interface Augmentation {
  /** Pixels added on every side before the random crop back to the original size. */
  pad: number;
  padMode: 'reflect' | 'zero';
  flip: boolean;
}

export interface Preprocessing {
  normalization: Normalization;
  /** Applied to the training split only; null means none. */
  augmentation: Augmentation | null;
}

const HALF: Normalization = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

export const PREPROCESSING: Readonly<Record<DatasetKind, Preprocessing>> = {
  cifar10: {
    normalization: { mean: [125.3 / 255, 123.0 / 255, 113.9 / 255], std: [63.0 / 255, 62.1 / 255, 66.7 / 255] },
    augmentation: { pad: 4, padMode: 'reflect', flip: true },
  },
  svhn: { normalization: HALF, augmentation: { pad: 2, padMode: 'zero', flip: false } },
  stl10: { normalization: HALF, augmentation: { pad: 4, padMode: 'zero', flip: true } },
  mnist: { normalization: { mean: [0.1307], std: [0.3081] }, augmentation: null },
  imagefolder: { normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }, augmentation: { pad: 4, padMode: 'zero', flip: true } },
};

/** The preprocessing a set is fed with: a run's own (withInput), else its kind's. */
export const preprocessingOf = (dataset: Dataset): Preprocessing => dataset.preprocessing ?? PREPROCESSING[dataset.kind];

/** What a run feeds the network: zero pixels added on every side, then this normalisation. */
export interface InputSettings {
  pad: number;
  normalization: Normalization;
}

/**
 * `dataset` as a run sees it: every image zero-padded by `pad` on every side (as torchvision's
 * Pad before ToTensor, so the border is black before normalisation), normalised with the run's
 * values; the kind's augmentation then acts on the padded images.
 */
export function withInput(dataset: Dataset, { pad, normalization }: InputSettings): Dataset {
  const { height, width, channels } = dataset.shape;
  if (normalization.mean.length !== channels || normalization.std.length !== channels) {
    throw new RangeError(`normalisation needs ${channels} value${channels === 1 ? '' : 's'} per mean and std (the images have ${channels} channel${channels === 1 ? '' : 's'})`);
  }
  const shape: ImageShape = { height: height + 2 * pad, width: width + 2 * pad, channels };
  const padded = (source: SplitSource): SplitSource => ({
    length: source.length,
    labels: source.labels,
    read: async (indices) => {
      const pixels = await source.read(indices);
      if (!pad) return pixels;
      const out = new Uint8Array(indices.length * shape.height * shape.width * channels);
      const row = width * channels;
      for (let n = 0; n < indices.length; n++) {
        for (let y = 0; y < height; y++) {
          const from = (n * height + y) * row;
          out.set(pixels.subarray(from, from + row), ((n * shape.height + y + pad) * shape.width + pad) * channels);
        }
      }
      return out;
    },
  });
  return {
    kind: dataset.kind,
    name: dataset.name,
    classes: dataset.classes,
    shape,
    splits: { train: padded(dataset.splits.train), test: padded(dataset.splits.test) },
    preprocessing: { ...PREPROCESSING[dataset.kind], normalization },
  };
}

/** Reflect without repeating the edge, as torch.nn.functional.pad(mode='reflect'): -1 -> 1, n -> n-2. */
function reflect(i: number, n: number): number {
  if (i < 0) return -i;
  if (i >= n) return 2 * (n - 1) - i;
  return i;
}

/**
 * Normalise `count` HWC uint8 images into `out` (float32, same layout), augmenting each with a
 * random padded crop and flip when `augmentation` is given. The crop is taken first, then the
 * flip, like torchvision's RandomCrop followed by RandomHorizontalFlip.
 */
export function preprocessInto(
  pixels: Uint8Array,
  count: number,
  shape: ImageShape,
  { normalization, augmentation }: Preprocessing,
  rng: () => number,
  out: Float32Array,
): void {
  const { height: H, width: W, channels: C } = shape;
  const scale = Array.from({ length: C }, (_, c) => 1 / (255 * normalization.std[c]!));
  const shift = Array.from({ length: C }, (_, c) => normalization.mean[c]! / normalization.std[c]!);
  const imageSize = H * W * C;
  for (let n = 0; n < count; n++) {
    const base = n * imageSize;
    if (!augmentation) {
      for (let i = 0; i < imageSize; i++) out[base + i] = pixels[base + i]! * scale[i % C]! - shift[i % C]!;
      continue;
    }
    const { pad, padMode } = augmentation;
    const dy = randomInt(rng, 2 * pad + 1) - pad;
    const dx = randomInt(rng, 2 * pad + 1) - pad;
    const flip = augmentation.flip && rng() < 0.5;
    for (let y = 0; y < H; y++) {
      let sy = y + dy;
      const rowInside = sy >= 0 && sy < H;
      if (!rowInside && padMode === 'reflect') sy = reflect(sy, H);
      for (let x = 0; x < W; x++) {
        let sx = (flip ? W - 1 - x : x) + dx;
        const inside = rowInside && sx >= 0 && sx < W;
        if (!(sx >= 0 && sx < W) && padMode === 'reflect') sx = reflect(sx, W);
        const o = base + (y * W + x) * C;
        const s = base + (sy * W + sx) * C;
        for (let c = 0; c < C; c++) {
          const value = inside || padMode === 'reflect' ? pixels[s + c]! : 0;
          out[o + c] = value * scale[c]! - shift[c]!;
        }
      }
    }
  }
}
