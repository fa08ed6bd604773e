/**
 * Detection data: images with labelled boxes, the built-in MNIST-on-canvas set (real MNIST digits
 * of the `mnist` package, ../../../data/mnist.ts, scattered on larger black canvases), and the
 * batches the trainer reads. Canvas digits come from MNIST's own fixed train/test split, so no
 * test canvas shows a digit image any training canvas shows.
 */
import * as tf from '@tensorflow/tfjs-core';
import { openMnist } from '../../../data/mnist';
import { createRng, mixSeed, randomInt } from '../../../data/random';
import type { SplitName } from '../../../data/types';
import { iou, type LabelledBox } from './boxes';

/** Pixels, row-major HWC bytes. */
export interface DetImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

export interface DetSample {
  image: DetImage;
  /** Corner-form pixel boxes (./boxes.ts) with class indices. */
  boxes: LabelledBox[];
}

export interface DetectionSet {
  name: string;
  classes: string[];
  /** Every image is size x size with `channels` channels. */
  size: number;
  channels: 1 | 3;
  train: DetSample[];
  test: DetSample[];
}

export interface MnistCanvasOptions {
  /** Canvas side in pixels. */
  size: number;
  /** Canvases per split. */
  train: number;
  test: number;
  /** Digits per canvas, inclusive range. */
  digits: [number, number];
  /** Height of a digit's ink box on the canvas, inclusive range in pixels. */
  digitSize: [number, number];
  /** Largest IoU a new digit's box may have with any already placed ("no heavy overlap"). */
  maxOverlap: number;
  seed: number;
}

export const MNIST_CANVAS_DEFAULTS: MnistCanvasOptions = { size: 64, train: 2000, test: 200, digits: [1, 4], digitSize: [14, 36], maxOverlap: 0.1, seed: 1 };

const DIGIT = 28;

/** The tight box of a 28x28 digit's nonzero pixels (MNIST digits are centred with blank margins). */
function inkBox(pixels: Uint8Array): { x: number; y: number; w: number; h: number } {
  let [x1, y1, x2, y2] = [DIGIT, DIGIT, -1, -1];
  for (let y = 0; y < DIGIT; y++) {
    for (let x = 0; x < DIGIT; x++) {
      if (pixels[y * DIGIT + x]! > 0) {
        x1 = Math.min(x1, x);
        y1 = Math.min(y1, y);
        x2 = Math.max(x2, x);
        y2 = Math.max(y2, y);
      }
    }
  }
  return x2 < 0 ? { x: 0, y: 0, w: DIGIT, h: DIGIT } : { x: x1, y: y1, w: x2 - x1 + 1, h: y2 - y1 + 1 };
}

/**
 * Bilinear resampling of a region of a single-channel image to w x h (pixel centres aligned, as
 * align_corners = false), edges clamped.
 */
function resampleGrey(src: Uint8Array, srcWidth: number, region: { x: number; y: number; w: number; h: number }, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  const sx = region.w / w;
  const sy = region.h / h;
  const at = (x: number, y: number) => src[(region.y + Math.min(region.h - 1, Math.max(0, y))) * srcWidth + region.x + Math.min(region.w - 1, Math.max(0, x))]!;
  for (let j = 0; j < h; j++) {
    const v = (j + 0.5) * sy - 0.5;
    const y0 = Math.floor(v);
    const fy = v - y0;
    for (let i = 0; i < w; i++) {
      const u = (i + 0.5) * sx - 0.5;
      const x0 = Math.floor(u);
      const fx = u - x0;
      out[j * w + i] = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
    }
  }
  return out;
}

function checkCanvasOptions(o: MnistCanvasOptions): void {
  const whole = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!whole(o.size, 16, 1024)) throw new RangeError(`The canvas size must be a whole number of pixels from 16 to 1024 (got ${o.size}).`);
  if (!whole(o.train, 1, 1_000_000) || !whole(o.test, 1, 1_000_000)) throw new RangeError(`Each split needs a whole number of canvases from 1 to 1,000,000 (got ${o.train} / ${o.test}).`);
  if (!(whole(o.digits[0], 1, 20) && whole(o.digits[1], o.digits[0], 20))) throw new RangeError(`Digits per canvas must be a range of whole numbers within 1..20, low first (got ${o.digits.join('..')}).`);
  if (!(whole(o.digitSize[0], 4, o.size) && whole(o.digitSize[1], o.digitSize[0], o.size))) throw new RangeError(`Digit sizes must be a range of whole pixels from 4 to the canvas size ${o.size}, low first (got ${o.digitSize.join('..')}).`);
  if (!(o.maxOverlap >= 0 && o.maxOverlap < 1)) throw new RangeError(`The largest overlap (IoU) must be in [0, 1) (got ${o.maxOverlap}).`);
}

/**
 * One split's canvases: each gets a digit count in `digits`, and each digit (drawn from MNIST's
 * split of the same name) a height in `digitSize` for its ink box, its aspect kept, and a place
 * where its box overlaps no earlier box by more than `maxOverlap` IoU (up to 50 tries, then it is
 * left out). Digits are drawn with max(), so touching strokes stay whole. Seeded: the same options
 * give the same canvases.
 */
async function mnistCanvases(options: MnistCanvasOptions, split: SplitName): Promise<DetSample[]> {
  const source = openMnist().splits[split];
  const all = await source.read(Array.from({ length: source.length }, (_, i) => i));
  const rng = createRng(mixSeed(options.seed, split === 'train' ? 1 : 2));
  const { size } = options;
  const count = split === 'train' ? options.train : options.test;
  return Array.from({ length: count }, () => {
    const data = new Uint8Array(size * size);
    const boxes: LabelledBox[] = [];
    const wanted = options.digits[0] + randomInt(rng, options.digits[1] - options.digits[0] + 1);
    for (let d = 0; d < wanted; d++) {
      const index = randomInt(rng, source.length);
      const pixels = all.subarray(index * DIGIT * DIGIT, (index + 1) * DIGIT * DIGIT);
      const ink = inkBox(pixels);
      const h = options.digitSize[0] + randomInt(rng, options.digitSize[1] - options.digitSize[0] + 1);
      const w = Math.max(1, Math.min(size, Math.round((ink.w * h) / ink.h)));
      for (let attempt = 0; attempt < 50; attempt++) {
        const x = randomInt(rng, size - w + 1);
        const y = randomInt(rng, size - h + 1);
        const box: LabelledBox = { x1: x, y1: y, x2: x + w, y2: y + h, label: source.labels[index]! };
        if (boxes.some((b) => iou(b, box) > options.maxOverlap)) continue;
        const patch = resampleGrey(pixels, DIGIT, ink, w, h);
        for (let j = 0; j < h; j++) {
          for (let i = 0; i < w; i++) {
            const at = (y + j) * size + x + i;
            data[at] = Math.max(data[at]!, Math.round(patch[j * w + i]!));
          }
        }
        boxes.push(box);
        break;
      }
    }
    return { image: { width: size, height: size, channels: 1, data }, boxes };
  });
}

/** The built-in MNIST detection set: options over MNIST_CANVAS_DEFAULTS. */
export async function buildMnistDetectionSet(options: Partial<MnistCanvasOptions> = {}): Promise<DetectionSet> {
  const o: MnistCanvasOptions = { ...MNIST_CANVAS_DEFAULTS, ...options };
  checkCanvasOptions(o);
  return {
    name: `MNIST digits on ${o.size}x${o.size} canvases (built in)`,
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    size: o.size,
    channels: 1,
    train: await mnistCanvases(o, 'train'),
    test: await mnistCanvases(o, 'test'),
  };
}

/** Images as the detector reads them: [N, H, W, C] floats in [0, 1]. */
export function imagesToTensor(images: readonly DetImage[]): tf.Tensor4D {
  const first = images[0];
  if (!first) throw new Error('No images to batch');
  const { width, height, channels } = first;
  const values = new Float32Array(images.length * width * height * channels);
  images.forEach((img, i) => {
    if (img.width !== width || img.height !== height || img.channels !== channels) throw new Error(`Image ${i} is ${img.width}x${img.height}x${img.channels}, the batch's first is ${width}x${height}x${channels}: resize them to one size first`);
    for (let k = 0; k < img.data.length; k++) values[i * img.data.length + k] = img.data[k]! / 255;
  });
  return tf.tensor4d(values, [images.length, height, width, channels]);
}

export interface DetBatch {
  images: tf.Tensor4D;
  boxes: LabelledBox[][];
}

/** Seeded batches drawn without replacement, reshuffled every pass over the samples. */
export function detectionBatches(samples: readonly DetSample[], batch: number, seed: number): () => DetBatch {
  if (!(Number.isInteger(batch) && batch >= 1 && batch <= samples.length)) throw new RangeError(`The batch size must be a whole number from 1 to the ${samples.length} samples (got ${batch}).`);
  const rng = createRng(seed);
  let order: number[] = [];
  return () => {
    const picked: DetSample[] = [];
    while (picked.length < batch) {
      if (order.length === 0) {
        order = Array.from({ length: samples.length }, (_, i) => i);
        for (let i = order.length - 1; i > 0; i--) {
          const j = randomInt(rng, i + 1);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
      }
      picked.push(samples[order.pop()!]!);
    }
    return { images: imagesToTensor(picked.map((s) => s.image)), boxes: picked.map((s) => s.boxes) };
  };
}
