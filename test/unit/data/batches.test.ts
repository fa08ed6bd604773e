import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { batchCount, type BatchOptions, iterateBatches } from '../../../main/data/batches';
import { memorySplit } from '../../../main/data/memory-split';
import { openMnist } from '../../../main/data/mnist';
import { PREPROCESSING } from '../../../main/data/preprocess';
import { tensorBatches } from '../../../main/data/tensors';
import type { Dataset } from '../../../main/data/types';

/** 10 tiny 2x2 RGB images whose pixels all equal their index; labels = index % 3. */
function tinyDataset(): Dataset {
  const n = 10;
  const pixels = Uint8Array.from({ length: n * 12 }, (_, i) => Math.floor(i / 12));
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 3);
  const split = memorySplit(pixels, labels, 12);
  return { kind: 'cifar10', name: 'tiny', classes: ['a', 'b', 'c'], shape: { height: 2, width: 2, channels: 3 }, splits: { train: split, test: split } };
}

const identity = { normalization: { mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] }, augmentation: null };
const options = (o: Partial<BatchOptions> = {}): BatchOptions => ({ batchSize: 4, shuffle: true, seed: 7, epoch: 1, augment: false, preprocessing: identity, ...o });

async function sampleOrder(dataset: Dataset, o: BatchOptions, split: 'train' | 'test' = 'train'): Promise<number[]> {
  const order: number[] = [];
  for await (const batch of iterateBatches(dataset, split, o)) for (let i = 0; i < batch.size; i++) order.push(batch.x[i * 12]!);
  return order;
}

describe('batches', () => {
  it('visit every sample once per epoch, in a seeded order that changes with the epoch', async () => {
    const data = tinyDataset();
    const first = await sampleOrder(data, options());
    expect([...first].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await sampleOrder(data, options())).toEqual(first);
    expect(await sampleOrder(data, options({ epoch: 2 }))).not.toEqual(first);
    expect(await sampleOrder(data, options({ seed: 8 }))).not.toEqual(first);
    expect(await sampleOrder(data, options({ shuffle: false }))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('pair every image with its own label', async () => {
    for await (const batch of iterateBatches(tinyDataset(), 'train', options())) {
      for (let i = 0; i < batch.size; i++) expect(batch.y[i]).toBe(batch.x[i * 12]! % 3);
    }
  });

  it('size batches, drop the last one on request, and honour a limit', async () => {
    const sizes = async (o: BatchOptions) => {
      const out: number[] = [];
      for await (const b of iterateBatches(tinyDataset(), 'train', o)) out.push(b.size);
      return out;
    };
    expect(await sizes(options())).toEqual([4, 4, 2]);
    expect(await sizes(options({ dropLast: true }))).toEqual([4, 4]);
    expect(await sizes(options({ limit: 5 }))).toEqual([4, 1]);
    expect(batchCount(10, 4)).toBe(3);
    await expect(sizes(options({ batchSize: 0 }))).rejects.toThrow(/batch size must be a positive integer/);
  });

  it('augment the training split only, reproducibly', async () => {
    const mnist = openMnist();
    const withAug = { batchSize: 16, shuffle: false, seed: 3, epoch: 0, augment: true, preprocessing: PREPROCESSING.stl10 } as const;
    const collect = async (split: 'train' | 'test', o: BatchOptions) => (await iterateBatches(mnist, split, o).next()).value!.x;
    const plain = { ...withAug, augment: false };
    expect(Array.from(await collect('test', withAug))).toEqual(Array.from(await collect('test', plain)));
    const augmented = await collect('train', withAug);
    expect(Array.from(augmented)).not.toEqual(Array.from(await collect('train', plain)));
    expect(Array.from(await collect('train', withAug))).toEqual(Array.from(augmented));
  });

  it('become NHWC float32 and int32 tensors of real MNIST digits', async () => {
    await tf.setBackend('cpu');
    const batches = tensorBatches(openMnist(), 'test', { batchSize: 32, shuffle: false, seed: 0, epoch: 0, augment: false });
    const { x, y } = (await batches.next()).value!;
    expect(x.shape).toEqual([32, 28, 28, 1]);
    expect(x.dtype).toBe('float32');
    expect(y.dtype).toBe('int32');
    // Normalised with MNIST's mean/std: the background (0) maps to -0.1307/0.3081.
    expect(tf.min(x).dataSync()[0]).toBeCloseTo(-0.1307 / 0.3081, 4);
    const labels = Array.from(y.dataSync() as Int32Array);
    expect(labels.every((l) => l >= 0 && l <= 9)).toBe(true);
    tf.dispose([x, y]);
  });
});
