import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MNIST_TEST_FRACTION, openMnist, summarizeMnist } from '../../../main/data/mnist';

describe('built-in MNIST', () => {
  it('holds the 10,000 real digits, split 80/20 within every class', () => {
    const summary = summarizeMnist();
    expect(summary.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(summary.shape).toEqual({ height: 28, width: 28, channels: 1 });
    const train = summary.counts.train.reduce((a, b) => a + b);
    const test = summary.counts.test.reduce((a, b) => a + b);
    expect(train + test).toBe(10_000);
    summary.counts.test.forEach((n, digit) => {
      const all = n + summary.counts.train[digit]!;
      expect(all).toBeGreaterThan(800);
      expect(n).toBe(Math.round(all * MNIST_TEST_FRACTION));
    });
    expect(summary.decodedBytes).toBe(10_000 * 784);
  });

  it('has the pixel statistics of real MNIST digits', async () => {
    const { train } = openMnist().splits;
    const pixels = await train.read(Array.from({ length: train.length }, (_, i) => i));
    let sum = 0;
    let max = 0;
    for (const v of pixels) {
      sum += v;
      max = Math.max(max, v);
    }
    // MNIST's customary mean is 0.1307 of full scale; mostly black background, strokes near 255.
    expect(sum / pixels.length / 255).toBeGreaterThan(0.12);
    expect(sum / pixels.length / 255).toBeLessThan(0.145);
    expect(max).toBeGreaterThanOrEqual(250);
  });

  it('splits the same way on every install (fixed seed)', async () => {
    const { test } = openMnist().splits;
    const hash = createHash('sha256');
    hash.update(test.labels);
    hash.update(await test.read([0, 1, 2, test.length - 1]));
    // Recorded when the split was fixed; a change here changes every built-in MNIST result.
    expect(hash.digest('hex').slice(0, 16)).toBe(EXPECTED_SPLIT_HASH);
  });
});

const EXPECTED_SPLIT_HASH = '53a97766f2f8f205';
