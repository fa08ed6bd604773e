import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stl10Format } from '../../../main/data/stl10';
import { datasetFailure } from '../../helpers/dataset-errors';
import { concatPixels, hwcIndex, patternSamples, writeStl10 } from '../../helpers/dataset-files';
import { useTempDir } from '../../helpers/temp';

const IMAGE = 96 * 96 * 3;



describe('STL-10 reader', () => {
  const tmp = useTempDir();
  const train = patternSamples(4, 96, 96, 10, 7); // labels 7, 8, 9, 0
  const test = patternSamples(3, 96, 96, 10, 2); // labels 2, 3, 4

  it('detects the files in the folder or in stl10_binary/, by name', () => {
    const dir = tmp();
    expect(stl10Format.detect(dir)).toBe(false);
    writeStl10(path.join(dir, 'nested'), { train, test }, { subfolder: true });
    expect(stl10Format.detect(path.join(dir, 'nested'))).toBe(true);
    fs.writeFileSync(path.join(dir, 'train_y.bin'), '');
    expect(stl10Format.detect(dir)).toBe(true);
  });

  it('summarizes counts per class (labels 1..10 read as classes 0..9) and the decoded size', async () => {
    const dir = tmp();
    writeStl10(dir, { train, test });
    // Unlabeled images are not part of the data set.
    fs.writeFileSync(path.join(dir, 'unlabeled_X.bin'), Buffer.alloc(10));
    expect(await stl10Format.summarize(dir)).toEqual({
      kind: 'stl10',
      name: 'STL-10',
      classes: ['airplane', 'bird', 'car', 'cat', 'deer', 'dog', 'horse', 'monkey', 'ship', 'truck'],
      shape: { height: 96, width: 96, channels: 3 },
      counts: { train: [1, 0, 0, 0, 0, 0, 0, 1, 1, 1], test: [0, 0, 1, 1, 1, 0, 0, 0, 0, 0] },
      decodedBytes: 7 * IMAGE,
    });
  });

  it('opens both splits as HWC images with their labels, from the subfolder and its class names', async () => {
    const dir = tmp();
    const names = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J'];
    writeStl10(dir, { train, test }, { subfolder: true, classNames: names });
    const progress: [number, number][] = [];
    const dataset = await stl10Format.open(dir, { onProgress: (done, total) => progress.push([done, total]) });
    expect(dataset).toMatchObject({ kind: 'stl10', name: 'STL-10', classes: names, shape: { height: 96, width: 96, channels: 3 } });
    expect(Array.from(dataset.splits.train.labels)).toEqual([7, 8, 9, 0]);
    expect(Array.from(dataset.splits.test.labels)).toEqual([2, 3, 4]);
    expect(Buffer.compare(await dataset.splits.train.read([0, 1, 2, 3]), concatPixels(train))).toBe(0);
    expect(Buffer.compare(await dataset.splits.test.read([1]), test[1]!.pixels)).toBe(0);
    expect(progress.at(-1)).toEqual([7, 7]);
  });

  it('reads each channel column-major, exactly as the format lays it out', async () => {
    const dir = tmp();
    writeStl10(dir, { train, test });
    // Written by hand from the spec: pixel (y, x, c) of image n at n*27648 + c*9216 + x*96 + y.
    const x = new Uint8Array(2 * IMAGE);
    x[IMAGE + 0 * 9216 + 90 * 96 + 3] = 11; // image 1, red at (y 3, x 90)
    x[IMAGE + 1 * 9216 + 3 * 96 + 90] = 22; // image 1, green at (y 90, x 3)
    x[IMAGE + 2 * 9216 + 95 * 96 + 95] = 33; // image 1, blue at (y 95, x 95)
    fs.writeFileSync(path.join(dir, 'test_X.bin'), x);
    fs.writeFileSync(path.join(dir, 'test_y.bin'), Uint8Array.of(10, 1));
    const dataset = await stl10Format.open(dir);
    expect(Array.from(dataset.splits.test.labels)).toEqual([9, 0]);
    const pixels = await dataset.splits.test.read([1]);
    expect(pixels[hwcIndex(96, 3, 90, 0)]).toBe(11);
    expect(pixels[hwcIndex(96, 90, 3, 1)]).toBe(22);
    expect(pixels[hwcIndex(96, 95, 95, 2)]).toBe(33);
    expect(pixels.reduce((a, b) => a + b, 0)).toBe(66);
  });

  it('names a missing file and lists the files it needs', async () => {
    const dir = tmp();
    writeStl10(dir, { train, test });
    fs.rmSync(path.join(dir, 'test_y.bin'));
    const error = await datasetFailure(stl10Format.open(dir));
    expect(error.file).toBe(path.join(dir, 'test_y.bin'));
    expect(error.message).toMatch(/test_y\.bin: is missing\. .*train_X\.bin, train_y\.bin, test_X\.bin, test_y\.bin/);
  });

  it('rejects a truncated X file, an X/y count mismatch and an empty split', async () => {
    const dir = tmp();
    writeStl10(dir, { train, test });
    const xFile = path.join(dir, 'train_X.bin');
    fs.truncateSync(xFile, 4 * IMAGE - 5);
    let error = await datasetFailure(stl10Format.summarize(dir));
    expect(error.file).toBe(xFile);
    expect(error.message).toMatch(/is 110587 bytes, not a whole number of 27648-byte 96x96x3 images \(3 images and 27643 bytes left over\): it is truncated/);

    fs.truncateSync(xFile, 3 * IMAGE);
    error = await datasetFailure(stl10Format.summarize(dir));
    expect(error.file).toBe(path.join(dir, 'train_y.bin'));
    expect(error.message).toContain(`holds 4 labels but ${xFile} holds 3 images`);

    fs.writeFileSync(path.join(dir, 'test_X.bin'), '');
    fs.writeFileSync(path.join(dir, 'test_y.bin'), '');
    fs.truncateSync(path.join(dir, 'train_y.bin'), 3);
    error = await datasetFailure(stl10Format.open(dir));
    expect(error.file).toBe(path.join(dir, 'test_X.bin'));
    expect(error.message).toMatch(/is empty: the test split has no images/);
  });

  it('names the label that is out of range', async () => {
    const dir = tmp();
    writeStl10(dir, { train, test });
    fs.writeFileSync(path.join(dir, 'test_y.bin'), Uint8Array.of(1, 0, 2));
    const error = await datasetFailure(stl10Format.summarize(dir));
    expect(error.file).toBe(path.join(dir, 'test_y.bin'));
    expect(error.message).toMatch(/label 1 \(counting from 0\) is 0; STL-10 labels are 1 to 10/);
  });

  it('refuses to load more than the memory limit', async () => {
    const dir = tmp();
    writeStl10(dir, { train, test });
    const error = await datasetFailure(stl10Format.open(dir, { maxInMemoryBytes: IMAGE }));
    expect(error.file).toBe(dir);
    expect(error.message).toMatch(/STL-10 needs 189\.0 KiB of memory for its decoded images, more than the 27\.0 KiB allowed/);
  });
});
