/**
 * The engine's accuracy loop (accuracyOf: the run's test and train accuracy and an exported
 * model's score all come from it) against accuracies counted by hand: known logits for known
 * labels, 300 images so the loop's batches of 256 end in a partial batch of 44.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { memorySplit } from '../../../main/data/memory-split';
import type { Dataset } from '../../../main/data/types';
import { selectBackend } from '../../../main/engine/backend/select';
import { accuracyOf } from '../../../main/engine/train/train-run';

const IMAGES = 300;
const CLASSES = 3;

/**
 * Each 1x1x3 image carries its own index (red = low byte, green = high byte), so the logits
 * function below finds every image's hand-written logits whatever order the loop reads them in.
 * SVHN's normalisation is (pixel / 255 - 0.5) / 0.5.
 */
function indexedImages(labels: number[]): Dataset {
  const pixels = new Uint8Array(labels.length * 3);
  labels.forEach((_, i) => pixels.set([i & 255, i >> 8, 0], i * 3));
  const split = memorySplit(pixels, Uint8Array.from(labels), 3);
  return { kind: 'svhn', name: 'hand-made', classes: ['a', 'b', 'c'], shape: { height: 1, width: 1, channels: 3 }, splits: { train: split, test: split } };
}

/** The images' bytes back from the normalised batch, one row of 3 per image. */
const pixelBytes = (x: tf.Tensor4D): tf.Tensor2D => tf.tidy(() => tf.round(tf.mul(tf.add(tf.reshape(x, [-1, 3]), 1), 127.5)) as tf.Tensor2D);

/** A classifier that answers `table[i]` for image i, read back from the normalised pixels. */
function tableLogits(table: number[][], batchSizes: number[]) {
  return (x: tf.Tensor4D): tf.Tensor2D => {
    batchSizes.push(x.shape[0]);
    const ids = tf.tidy(() => {
      const bytes = pixelBytes(x);
      return tf.cast(tf.reshape(tf.add(tf.slice(bytes, [0, 0], [-1, 1]), tf.mul(tf.slice(bytes, [0, 1], [-1, 1]), 256)), [-1]), 'int32');
    });
    const logits = tf.gather(tf.tensor2d(table), ids) as tf.Tensor2D;
    ids.dispose();
    return logits;
  };
}

/** The wrong class with the highest logit, the right one lower: a miss. */
const miss = (label: number): number[] => [0, 1, 2].map((c) => (c === (label + 1) % CLASSES ? 4.5 : c === label ? 4.25 : -3));
/** The right class a little above the others (negative logits included): a hit. */
const hit = (label: number): number[] => [0, 1, 2].map((c) => (c === label ? -0.5 : -0.75 - c));

describe('accuracy loop', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('scores hand-made logits: 192 of the first 256, 4 of the last 44 (a partial batch), 196 of 300', async () => {
    const labels = Array.from({ length: IMAGES }, (_, i) => i % CLASSES);
    // Full batch (images 0..255): every fourth is missed, 256 - 64 = 192 hits.
    // Partial batch (256..299): only the multiples of 11 hit (264, 275, 286, 297): 4 hits.
    const table = labels.map((label, i) => ((i < 256 ? i % 4 !== 0 : i % 11 === 0) ? hit(label) : miss(label)));
    const batchSizes: number[] = [];
    const result = await accuracyOf(tableLogits(table, batchSizes), indexedImages(labels), undefined);
    expect(batchSizes).toEqual([256, 44]);
    expect(result.images).toBe(300);
    expect(result.accuracy).toBe(196 / 300);
  });

  it('counts a limited subset whole: 150 images scored, every hit counted once', async () => {
    const labels = Array.from({ length: IMAGES }, (_, i) => i % CLASSES);
    // Images of class 0 hit, the rest miss; the limited subset is a seeded shuffle, so count its class-0 images by hand.
    const table = labels.map((label) => (label === 0 ? hit(label) : miss(label)));
    const batchSizes: number[] = [];
    const seen: number[] = [];
    const logits = tableLogits(table, batchSizes);
    const result = await accuracyOf(
      (x) => {
        const bytes = pixelBytes(x);
        seen.push(...(bytes.arraySync() as number[][]).map(([low, high]) => low! + 256 * high!));
        bytes.dispose();
        return logits(x);
      },
      indexedImages(labels),
      150,
    );
    expect(batchSizes).toEqual([150]);
    expect(new Set(seen).size).toBe(150);
    const classZero = seen.filter((i) => labels[i] === 0).length;
    expect(classZero).toBeGreaterThan(0);
    expect(result).toEqual({ accuracy: classZero / 150, images: 150 });
  });

  it('scores 0 on every miss and 1 on every hit, and 0 of 0 images on an empty split', async () => {
    const labels = Array.from({ length: IMAGES }, (_, i) => (i * 7) % CLASSES);
    expect((await accuracyOf(tableLogits(labels.map(miss), []), indexedImages(labels), undefined)).accuracy).toBe(0);
    expect((await accuracyOf(tableLogits(labels.map(hit), []), indexedImages(labels), undefined)).accuracy).toBe(1);
    expect(await accuracyOf(tableLogits([], []), indexedImages([]), undefined)).toEqual({ accuracy: 0, images: 0 });
  });
});
