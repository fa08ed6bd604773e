/**
 * Data pipeline benchmark: can the readers feed training faster than it consumes? For each
 * format it measures the one-off cost (check, load) and the steady rate of normalised,
 * augmented batches, and prints that rate as a ratio to the wasm training path's speed
 * (~58 img/s for a ResNet-8 step at 32x32x3, measured in ../shared/docs/PLATFORM.md).
 * Files are written in each real format into a temporary folder first.
 *
 *   npm run bench:data            (about a minute on 2 cores)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { iterateBatches } from '../main/data/batches';
import { cifar10Format } from '../main/data/cifar10';
import { imageFolderFormat } from '../main/data/imagefolder';
import { openMnist } from '../main/data/mnist';
import { stl10Format } from '../main/data/stl10';
import type { Dataset } from '../main/data/types';
import { patternSamples, writeCifar10, writeStl10 } from '../test/helpers/dataset-files';
import { makeImageFolder } from '../test/helpers/image-files';

const WASM_TRAINING_IMAGES_PER_S = 58;

interface Row {
  set: string;
  images: number;
  checkMs: number | null;
  loadMs: number;
  rate: number;
}

async function time<T>(work: () => Promise<T> | T): Promise<[T, number]> {
  const start = performance.now();
  const result = await work();
  return [result, performance.now() - start];
}

/** Images per second of one augmented training epoch (at most `limit` images), batch 64. */
async function batchRate(dataset: Dataset, limit: number): Promise<number> {
  const [count, ms] = await time(async () => {
    let n = 0;
    for await (const batch of iterateBatches(dataset, 'train', { batchSize: 64, shuffle: true, seed: 1, epoch: 1, augment: true, limit })) n += batch.size;
    return n;
  });
  return (count / ms) * 1000;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-bench-data-'));
  const rows: Row[] = [];
  try {
    const [mnist, mnistMs] = await time(() => openMnist());
    rows.push({ set: 'MNIST built in (28x28x1)', images: mnist.splits.train.length, checkMs: null, loadMs: mnistMs, rate: await batchRate(mnist, 8000) });

    const cifarDir = path.join(dir, 'cifar');
    writeCifar10(cifarDir, { train: patternSamples(10_000, 32, 32), test: patternSamples(2_000, 32, 32) });
    const [, cifarCheck] = await time(() => cifar10Format.summarize(cifarDir));
    const [cifar, cifarMs] = await time(() => cifar10Format.open(cifarDir));
    rows.push({ set: 'CIFAR-10 files (32x32x3)', images: 10_000, checkMs: cifarCheck, loadMs: cifarMs, rate: await batchRate(cifar, 10_000) });

    const stlDir = path.join(dir, 'stl');
    writeStl10(stlDir, { train: patternSamples(1_000, 96, 96), test: patternSamples(200, 96, 96) });
    const [, stlCheck] = await time(() => stl10Format.summarize(stlDir));
    const [stl, stlMs] = await time(() => stl10Format.open(stlDir));
    rows.push({ set: 'STL-10 files (96x96x3)', images: 1_000, checkMs: stlCheck, loadMs: stlMs, rate: await batchRate(stl, 1_000) });

    const folder = path.join(dir, 'images');
    const gradient = (shift: number) => (x: number, y: number) => [(x * 4 + shift) % 256, (y * 4) % 256, (x + y + shift) % 256] as const;
    const perClass = (shift: number, format: 'png' | 'jpeg') => Array.from({ length: 150 }, () => ({ format, width: 64, height: 48, pixels: gradient(shift) }));
    makeImageFolder(folder, { a: perClass(0, 'jpeg'), b: perClass(40, 'png'), c: perClass(80, 'jpeg'), d: perClass(120, 'png') });
    const [, folderCheck] = await time(() => imageFolderFormat.summarize(folder));
    const [inMemory, memoryMs] = await time(() => imageFolderFormat.open(folder));
    rows.push({ set: 'image folder, decoded once', images: inMemory.splits.train.length, checkMs: folderCheck, loadMs: memoryMs, rate: await batchRate(inMemory, 10_000) });
    const [streaming, streamMs] = await time(() => imageFolderFormat.open(folder, { maxInMemoryBytes: 0 }));
    rows.push({ set: 'image folder, streamed', images: streaming.splits.train.length, checkMs: null, loadMs: streamMs, rate: await batchRate(streaming, 10_000) });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const ms = (v: number | null) => (v === null ? '-' : v.toFixed(0));
  console.log(`\nData pipeline on ${os.cpus().length} cores (batch 64, shuffled, augmented, normalised)\n`);
  console.log('| data set | train images | check ms | load ms | batches img/s | x wasm training (58 img/s) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.set} | ${r.images} | ${ms(r.checkMs)} | ${ms(r.loadMs)} | ${r.rate.toFixed(0)} | ${(r.rate / WASM_TRAINING_IMAGES_PER_S).toFixed(1)}x |`);
  }
}

void main();
