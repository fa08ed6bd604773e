import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { svhnFormat } from '../../../main/data/svhn';
import { DatasetError } from '../../../main/data/types';
import { datasetFailure } from '../../helpers/dataset-errors';
import { allIndices, concatPixels, encodeMat, hwcIndex, matHeader, patternSamples, svhnX, writeSvhn, writeSvhnMat } from '../../helpers/dataset-files';
import { useTempDir } from '../../helpers/temp';

const IMAGE = 32 * 32 * 3;



describe('SVHN reader', () => {
  const tmp = useTempDir();
  const train = patternSamples(5, 32, 32, 10, 8); // digits 8, 9, 0, 1, 2
  const test = patternSamples(3, 32, 32, 10, 0); // digits 0, 1, 2
  const extra = patternSamples(2, 32, 32, 10, 5); // digits 5, 6
  const x = (n: number) => ({ name: 'X', className: 'uint8' as const, dims: [32, 32, 3, n], values: svhnX(train.slice(0, n).map((s) => s.pixels)) });

  it('detects the .mat files by name', () => {
    const dir = tmp();
    expect(svhnFormat.detect(dir)).toBe(false);
    fs.writeFileSync(path.join(dir, 'test_32x32.mat'), '');
    expect(svhnFormat.detect(dir)).toBe(true);
  });

  it('summarizes train and test, reporting extra apart unless it is asked for', async () => {
    const dir = tmp();
    writeSvhn(dir, { train, test, extra }, { compressed: true });
    const summary = await svhnFormat.summarize(dir);
    expect(summary).toEqual({
      kind: 'svhn',
      name: 'SVHN',
      classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      shape: { height: 32, width: 32, channels: 3 },
      counts: { train: [1, 1, 1, 0, 0, 0, 0, 0, 1, 1], test: [1, 1, 1, 0, 0, 0, 0, 0, 0, 0] },
      decodedBytes: 8 * IMAGE,
      extra: { counts: [0, 0, 0, 0, 0, 1, 1, 0, 0, 0], decodedBytes: 2 * IMAGE },
    });
    const withExtra = await svhnFormat.summarize(dir, { includeExtra: true });
    expect(withExtra.counts.train).toEqual([1, 1, 1, 0, 0, 1, 1, 0, 1, 1]);
    expect(withExtra.decodedBytes).toBe(10 * IMAGE);
    fs.rmSync(path.join(dir, 'extra_32x32.mat'));
    expect((await svhnFormat.summarize(dir)).extra).toBeNull();
  });

  for (const [compressed, yClass] of [
    [false, 'double'],
    [true, 'uint8'],
    [true, 'double'],
    [false, 'uint8'],
  ] as const) {
    it(`opens ${compressed ? 'compressed' : 'uncompressed'} files with y stored as ${yClass}, as HWC images`, async () => {
      const dir = tmp();
      writeSvhn(dir, { train, test }, { compressed, yClass });
      const progress: [number, number][] = [];
      const dataset = await svhnFormat.open(dir, { onProgress: (done, total) => progress.push([done, total]) });
      expect(dataset).toMatchObject({ kind: 'svhn', name: 'SVHN', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], shape: { height: 32, width: 32, channels: 3 } });
      // y holds 10 for the digit 0.
      expect(Array.from(dataset.splits.train.labels)).toEqual([8, 9, 0, 1, 2]);
      expect(Array.from(dataset.splits.test.labels)).toEqual([0, 1, 2]);
      expect(Buffer.compare(await dataset.splits.train.read(allIndices(5)), concatPixels(train))).toBe(0);
      expect(Buffer.compare(await dataset.splits.test.read([2, 1]), concatPixels([test[2]!, test[1]!]))).toBe(0);
      expect(progress.at(-1)).toEqual([8, 8]);
    });
  }

  it('reads X column-major, exactly as the format lays it out', async () => {
    const dir = tmp();
    writeSvhn(dir, { train, test });
    // Written by hand from the spec: element (h, w, c, n) at h + 32w + 1024c + 3072n, h the row.
    const values = new Uint8Array(2 * IMAGE);
    values[3 + 32 * 30 + 1024 * 0 + 3072] = 11; // image 1, red at (row 3, column 30)
    values[30 + 32 * 3 + 1024 * 1 + 3072] = 22; // image 1, green at (row 30, column 3)
    values[31 + 32 * 31 + 1024 * 2 + 3072] = 33; // image 1, blue at (row 31, column 31)
    const file = path.join(dir, 'test_32x32.mat');
    fs.writeFileSync(file, encodeMat([{ name: 'X', className: 'uint8', dims: [32, 32, 3, 2], values }, { name: 'y', className: 'double', dims: [2, 1], values: [10, 4] }]));
    const dataset = await svhnFormat.open(dir);
    expect(Array.from(dataset.splits.test.labels)).toEqual([0, 4]);
    const pixels = await dataset.splits.test.read([1]);
    expect(pixels[hwcIndex(32, 3, 30, 0)]).toBe(11);
    expect(pixels[hwcIndex(32, 30, 3, 1)]).toBe(22);
    expect(pixels[hwcIndex(32, 31, 31, 2)]).toBe(33);
    expect(pixels.reduce((a, b) => a + b, 0)).toBe(66);
  });

  it('decodes images split across read chunks, and a single image whose X is 32x32x3', async () => {
    const dir = tmp();
    // Over 1 MiB of X, so images straddle the reader's chunks.
    const many = patternSamples(400, 32, 32, 10, 3);
    writeSvhn(dir, { train: many, test: test.slice(0, 1) }, { compressed: true });
    const file = path.join(dir, 'test_32x32.mat');
    fs.writeFileSync(file, encodeMat([{ ...x(1), dims: [32, 32, 3] }, { name: 'y', className: 'uint8', dims: [1, 1], values: [7] }]));
    const dataset = await svhnFormat.open(dir);
    expect(Buffer.compare(await dataset.splits.train.read(allIndices(400)), concatPixels(many))).toBe(0);
    expect(Array.from(dataset.splits.test.labels)).toEqual([7]);
    expect(Buffer.compare(await dataset.splits.test.read([0]), train[0]!.pixels)).toBe(0);
  });

  it('adds extra_32x32.mat to the training split only when asked', async () => {
    const dir = tmp();
    writeSvhn(dir, { train, test, extra });
    expect((await svhnFormat.open(dir)).splits.train.length).toBe(5);
    const dataset = await svhnFormat.open(dir, { includeExtra: true });
    expect(Array.from(dataset.splits.train.labels)).toEqual([8, 9, 0, 1, 2, 5, 6]);
    expect(Buffer.compare(await dataset.splits.train.read(allIndices(7)), concatPixels([...train, ...extra]))).toBe(0);
    expect(dataset.splits.test.length).toBe(3);

    fs.rmSync(path.join(dir, 'extra_32x32.mat'));
    const error = await datasetFailure(svhnFormat.open(dir, { includeExtra: true }));
    expect(error.file).toBe(path.join(dir, 'extra_32x32.mat'));
    expect(error.message).toMatch(/is missing, but the extra split was asked for/);
  });

  it('names a missing file and lists the files it needs', async () => {
    const dir = tmp();
    writeSvhn(dir, { train, test: [] });
    fs.rmSync(path.join(dir, 'test_32x32.mat'));
    const error = await datasetFailure(svhnFormat.summarize(dir));
    expect(error.file).toBe(path.join(dir, 'test_32x32.mat'));
    expect(error.message).toMatch(/is missing\. .*needs train_32x32\.mat and test_32x32\.mat/);
  });

  /** Writes test_32x32.mat with `variables` next to a good train file; returns the failure. */
  async function badTestFile(variables: Parameters<typeof encodeMat>[0], compressed = false): Promise<DatasetError> {
    const dir = tmp();
    writeSvhn(dir, { train, test });
    const file = path.join(dir, 'test_32x32.mat');
    fs.writeFileSync(file, encodeMat(variables, { compressed }));
    const error = await datasetFailure(svhnFormat.summarize(dir));
    expect(error.file).toBe(file);
    await datasetFailure(svhnFormat.open(dir));
    return error;
  }

  it('names the variables found when X or y is missing', async () => {
    const labels = { name: 'labels', className: 'double' as const, dims: [2, 1], values: [1, 2] };
    let error = await badTestFile([{ ...x(2), name: 'images' }, labels], true);
    expect(error.message).toMatch(/has no variable "X" \(its variables: images, labels\)/);
    error = await badTestFile([x(2), labels]);
    expect(error.message).toMatch(/has no variable "y" \(its variables: X, labels\)/);
  });

  it('rejects X of the wrong class or dimensions, and y of the wrong class or length', async () => {
    const y2 = { name: 'y', className: 'double' as const, dims: [2, 1], values: [1, 2] };
    let error = await badTestFile([{ ...x(2), className: 'double', storage: 'uint8' }, y2]);
    expect(error.message).toMatch(/has X of class double \(stored as uint8\), not uint8/);
    error = await badTestFile([{ name: 'X', className: 'uint8', dims: [28, 28, 3, 2], values: new Uint8Array(28 * 28 * 3 * 2) }, y2]);
    expect(error.message).toMatch(/has X of dimensions 28x28x3x2, not 32x32x3xN/);
    error = await badTestFile([x(2), { name: 'y', className: 'char', dims: [1, 2], values: [49, 50] }]);
    expect(error.message).toMatch(/has y of class char, not a real numeric array/);
    error = await badTestFile([x(2), { ...y2, dims: [3, 1], values: [1, 2, 3] }]);
    expect(error.message).toMatch(/has y of dimensions 3x1, but X holds 2 images, so y should be 2x1/);
    error = await badTestFile([{ name: 'X', className: 'uint8', dims: [32, 32, 3, 0], values: [] }, { ...y2, dims: [0, 1], values: [] }]);
    expect(error.message).toMatch(/has no images \(X is 32x32x3x0\)/);
  });

  it('names the label that is out of range', async () => {
    let error = await badTestFile([x(3), { name: 'y', className: 'double', dims: [3, 1], values: [10, 11, 1] }]);
    expect(error.message).toMatch(/has 1 label outside 1 to 10 \(of 3\): y\(2\) = 11 \(positions count from 1, as in MATLAB\)\. SVHN labels are 1 to 10/);
    error = await badTestFile([x(2), { name: 'y', className: 'double', dims: [2, 1], values: [2.5, 1] }], true);
    expect(error.message).toMatch(/has 1 label outside 1 to 10 \(of 2\): y\(1\) = 2\.5 /);
  });

  it('refuses label 0 (the format writes the digit 0 as 10), counting every bad label and naming the first few', async () => {
    // Seven of the eight labels are out of range: 0 five times, 11 and -1 once each.
    const y = { name: 'y', className: 'double' as const, dims: [8, 1], values: [0, 3, 0, 11, 0, 0, -1, 0] };
    const eight = { name: 'X', className: 'uint8' as const, dims: [32, 32, 3, 8], values: svhnX(patternSamples(8, 32, 32).map((s) => s.pixels)) };
    const error = await badTestFile([eight, y]);
    expect(error.message).toMatch(/has 7 labels outside 1 to 10 \(of 8\): y\(1\) = 0, y\(3\) = 0, y\(4\) = 11, y\(5\) = 0, y\(6\) = 0 and 2 more \(positions count from 1, as in MATLAB\)/);
    expect(error.message).toMatch(/10 for the digit 0/);
  });

  it('rejects a truncated file, a v7.3 file and a big-endian file, naming the file', async () => {
    const dir = tmp();
    writeSvhn(dir, { train, test }, { compressed: true });
    const file = path.join(dir, 'train_32x32.mat');
    fs.truncateSync(file, fs.statSync(file).size - 10);
    let error = await datasetFailure(svhnFormat.summarize(dir));
    expect(error.file).toBe(file);
    expect(error.message).toMatch(/truncated/);

    fs.writeFileSync(file, Buffer.concat([matHeader('MATLAB 7.3 MAT-file, Platform: GLNXA64'), Buffer.alloc(512)]));
    error = await datasetFailure(svhnFormat.open(dir));
    expect(error.message).toMatch(/MATLAB v7\.3 MAT-file \(an HDF5 file\), which is not supported/);

    const bigEndian = matHeader();
    bigEndian.write('MI', 126, 'latin1');
    fs.writeFileSync(file, bigEndian);
    error = await datasetFailure(svhnFormat.summarize(dir));
    expect(error.message).toMatch(/big-endian/);
  });

  it('refuses to load more than the memory limit, suggesting leaving out extra', async () => {
    const dir = tmp();
    writeSvhn(dir, { train, test, extra });
    const error = await datasetFailure(svhnFormat.open(dir, { includeExtra: true, maxInMemoryBytes: 9 * IMAGE }));
    expect(error.file).toBe(dir);
    expect(error.message).toMatch(/SVHN needs 30\.0 KiB of memory .* more than the 27\.0 KiB allowed.*open it without extra_32x32\.mat/);
    await expect(svhnFormat.open(dir, { maxInMemoryBytes: 9 * IMAGE })).resolves.toBeDefined();
  });

  it('has a test helper that stores the digit 0 as 10, in a small data element as MATLAB does', () => {
    const file = path.join(tmp(), 'one.mat');
    writeSvhnMat(file, [train[0]!.pixels], [0], { yClass: 'uint8' });
    const bytes = fs.readFileSync(file);
    expect(bytes.subarray(126, 128).toString('latin1')).toBe('IM');
    // Last element: y's real part, 1 byte of miUINT8 (2) packed into the tag, then the value.
    expect(bytes.readUInt32LE(bytes.length - 8)).toBe((1 << 16) | 2);
    expect(bytes.at(-4)).toBe(10);
  });
});
