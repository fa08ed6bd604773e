/**
 * Batches for training and evaluation, the same for every data set: a seeded shuffle per
 * epoch, decoded pixels from the reader, augmentation on the training split only, and
 * normalisation, as float32 NHWC plus int32 labels. tensors.ts turns them into TF.js tensors.
 */
import { createRng, mixSeed, permutation } from './random';
import { type Preprocessing, preprocessingOf, preprocessInto } from './preprocess';
import type { Dataset, ImageShape, SplitName } from './types';

export interface BatchOptions {
  batchSize: number;
  /** Shuffle the order every epoch (training); evaluation keeps the stored order. */
  shuffle: boolean;
  /** Run seed: with the epoch it fixes the order and the augmentation, so a run replays exactly. */
  seed: number;
  epoch: number;
  /** Apply the data set's augmentation; ignored on the test split, which is only normalised. */
  augment: boolean;
  /** Drop a last, smaller batch. */
  dropLast?: boolean;
  /** Use only the first `limit` samples of the (shuffled) order: quick runs and tests. */
  limit?: number;
  /** Override the data set's preprocessing. */
  preprocessing?: Preprocessing;
}

export interface HostBatch {
  /** Normalised images, NHWC float32. */
  x: Float32Array;
  /** Class indices. */
  y: Int32Array;
  size: number;
  shape: ImageShape;
}

export function batchCount(length: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(length / batchSize) : Math.ceil(length / batchSize);
}

export async function* iterateBatches(dataset: Dataset, split: SplitName, options: BatchOptions): AsyncGenerator<HostBatch> {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${options.batchSize}`);
  const source = dataset.splits[split];
  const length = Math.min(source.length, options.limit ?? source.length);
  const order = options.shuffle ? permutation(source.length, createRng(mixSeed(options.seed, options.epoch, 1))) : undefined;
  const base = options.preprocessing ?? preprocessingOf(dataset);
  const preprocessing: Preprocessing = split === 'train' && options.augment ? base : { ...base, augmentation: null };
  const augmentRng = createRng(mixSeed(options.seed, options.epoch, 2));
  const { height, width, channels } = dataset.shape;
  const imageSize = height * width * channels;
  const batches = batchCount(length, options.batchSize, options.dropLast);
  for (let b = 0; b < batches; b++) {
    const start = b * options.batchSize;
    const size = Math.min(options.batchSize, length - start);
    const indices = Array.from({ length: size }, (_, i) => (order ? order[start + i]! : start + i));
    const pixels = await source.read(indices);
    const x = new Float32Array(size * imageSize);
    preprocessInto(pixels, size, dataset.shape, preprocessing, augmentRng, x);
    const y = Int32Array.from(indices, (i) => source.labels[i]!);
    yield { x, y, size, shape: dataset.shape };
  }
}
