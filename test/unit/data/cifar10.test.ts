import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cifar10Format } from '../../../main/data/cifar10';
import { datasetFailure } from '../../helpers/dataset-errors';
import { allIndices, cifar10Record, concatPixels, hwcIndex, patternSamples, writeCifar10 } from '../../helpers/dataset-files';
import { useTempDir } from '../../helpers/temp';

const IMAGE = 32 * 32 * 3;



describe('CIFAR-10 reader', () => {
  const tmp = useTempDir();
  // Two records per training batch; labels cycle 0..9 so every class appears once in train.
  const train = patternSamples(10, 32, 32, 10, 0);
  const test = patternSamples(3, 32, 32, 10, 20);

  it('detects the batches in the folder or in cifar-10-batches-bin/, by name', () => {
    const dir = tmp();
    expect(cifar10Format.detect(dir)).toBe(false);
    writeCifar10(path.join(dir, 'nested'), { train, test }, { subfolder: true });
    expect(cifar10Format.detect(path.join(dir, 'nested'))).toBe(true);
    fs.writeFileSync(path.join(dir, 'test_batch.bin'), '');
    expect(cifar10Format.detect(dir)).toBe(true);
  });

  it('summarizes counts per class and the decoded size without loading pixels', async () => {
    const dir = tmp();
    writeCifar10(dir, { train, test });
    const summary = await cifar10Format.summarize(dir);
    expect(summary).toEqual({
      kind: 'cifar10',
      name: 'CIFAR-10',
      classes: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
      shape: { height: 32, width: 32, channels: 3 },
      counts: { train: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], test: [1, 1, 1, 0, 0, 0, 0, 0, 0, 0] },
      decodedBytes: 13 * IMAGE,
    });
  });

  it('opens every batch in order as HWC images, with labels, from the subfolder and its class names', async () => {
    const dir = tmp();
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    writeCifar10(dir, { train, test }, { subfolder: true, classNames: names });
    const progress: [number, number][] = [];
    const dataset = await cifar10Format.open(dir, { onProgress: (done, total) => progress.push([done, total]) });
    expect(dataset).toMatchObject({ kind: 'cifar10', name: 'CIFAR-10', classes: names, shape: { height: 32, width: 32, channels: 3 } });
    const { train: trainSplit, test: testSplit } = dataset.splits;
    expect(trainSplit.length).toBe(10);
    expect(Array.from(trainSplit.labels)).toEqual(train.map((s) => s.label));
    expect(Array.from(testSplit.labels)).toEqual([0, 1, 2]);
    expect(Buffer.compare(await trainSplit.read(allIndices(10)), concatPixels(train))).toBe(0);
    expect(Buffer.compare(await testSplit.read([2, 0]), concatPixels([test[2]!, test[0]!]))).toBe(0);
    expect(progress.at(-1)).toEqual([13, 13]);
  });

  it('turns the red, green and blue planes into HWC exactly as the format lays them out', async () => {
    const dir = tmp();
    writeCifar10(dir, { train, test });
    // Written by hand from the spec: plane c, row y, column x at 1 + 1024c + 32y + x.
    const record = new Uint8Array(3073);
    record[0] = 9;
    record[1 + 1024 * 0 + 32 * 1 + 30] = 11; // red at (y 1, x 30)
    record[1 + 1024 * 1 + 32 * 30 + 1] = 22; // green at (y 30, x 1)
    record[1 + 1024 * 2 + 32 * 5 + 7] = 33; // blue at (y 5, x 7)
    fs.writeFileSync(path.join(dir, 'test_batch.bin'), record);
    const dataset = await cifar10Format.open(dir);
    const pixels = await dataset.splits.test.read([0]);
    expect(dataset.splits.test.labels[0]).toBe(9);
    expect(pixels[hwcIndex(32, 1, 30, 0)]).toBe(11);
    expect(pixels[hwcIndex(32, 30, 1, 1)]).toBe(22);
    expect(pixels[hwcIndex(32, 5, 7, 2)]).toBe(33);
    expect(pixels.reduce((a, b) => a + b, 0)).toBe(66);
  });

  it('names a missing batch and lists the files it needs', async () => {
    const dir = tmp();
    writeCifar10(dir, { train, test });
    fs.rmSync(path.join(dir, 'data_batch_3.bin'));
    const error = await datasetFailure(cifar10Format.summarize(dir));
    expect(error.file).toBe(path.join(dir, 'data_batch_3.bin'));
    expect(error.message).toMatch(/data_batch_3\.bin: is missing\. .*data_batch_1\.bin, .*data_batch_5\.bin, test_batch\.bin/);
  });

  it('rejects a truncated or empty batch', async () => {
    const dir = tmp();
    writeCifar10(dir, { train, test });
    const file = path.join(dir, 'data_batch_2.bin');
    fs.writeFileSync(file, Buffer.concat([cifar10Record(1, train[2]!.pixels), Buffer.alloc(100)]));
    let error = await datasetFailure(cifar10Format.open(dir));
    expect(error.file).toBe(file);
    expect(error.message).toMatch(/is 3173 bytes, not a whole number of 3073-byte records \(1 records and 100 bytes left over\): it is truncated/);
    fs.writeFileSync(file, '');
    error = await datasetFailure(cifar10Format.summarize(dir));
    expect(error.message).toBe(`${file}: is empty. The file is damaged or not a CIFAR-10 binary batch; download cifar-10-binary.tar.gz again and unpack it`);
  });

  it('points out a CIFAR-100 batch', async () => {
    const dir = tmp();
    writeCifar10(dir, { train, test });
    fs.writeFileSync(path.join(dir, 'test_batch.bin'), Buffer.alloc(3074 * 2));
    const error = await datasetFailure(cifar10Format.summarize(dir));
    expect(error.message).toMatch(/looks like a CIFAR-100 batch/);
  });

  it('names the record whose label is out of range', async () => {
    const dir = tmp();
    writeCifar10(dir, { train, test: [...test, { label: 10, pixels: test[0]!.pixels }] });
    // One at a time: a second promise started early would reject before anyone awaits it.
    for (const attempt of [() => cifar10Format.summarize(dir), () => cifar10Format.open(dir)]) {
      const error = await datasetFailure(attempt());
      expect(error.file).toBe(path.join(dir, 'test_batch.bin'));
      expect(error.message).toMatch(/record 3 \(counting from 0\) has label 10; CIFAR-10 labels are 0 to 9/);
    }
  });

  it('rejects a class-name file that does not name ten classes', async () => {
    const dir = tmp();
    writeCifar10(dir, { train, test }, { classNames: ['cat', 'dog'] });
    const error = await datasetFailure(cifar10Format.summarize(dir));
    expect(error.file).toBe(path.join(dir, 'batches.meta.txt'));
    expect(error.message).toMatch(/names 2 classes, but the labels have 10/);
  });

  it('refuses to load more than the memory limit, saying how much it needs', async () => {
    const dir = tmp();
    writeCifar10(dir, { train, test });
    const error = await datasetFailure(cifar10Format.open(dir, { maxInMemoryBytes: 12 * IMAGE }));
    expect(error.file).toBe(dir);
    expect(error.message).toMatch(/CIFAR-10 needs 39\.0 KiB of memory .* more than the 36\.0 KiB allowed.*cannot be streamed.*Raise the in-memory limit to at least 39\.0 KiB/);
    await expect(cifar10Format.open(dir, { maxInMemoryBytes: 13 * IMAGE })).resolves.toBeDefined();
  });
});
