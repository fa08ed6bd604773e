import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectImageFolder, imageFolderFormat, openImageFolder, summarizeImageFolder, verifyImageFolder } from '../../../main/data/imagefolder';
import { type Dataset, DatasetError, type SplitSource } from '../../../main/data/types';
import { garblePngPixels, type ImageSpec, jpegBytes, makeImageFolder, type Pixel, pngBytes, writePng } from '../../helpers/image-files';
import { useTempDir } from '../../helpers/temp';

const RED: Pixel = [230, 20, 20];
const GREEN: Pixel = [20, 200, 40];
const BLUE: Pixel = [30, 40, 210];

/** `n` solid images of one colour, alternating PNG sizes so resizing is exercised. */
const solid = (n: number, pixels: Pixel, size = 8): ImageSpec[] =>
  Array.from({ length: n }, (_, i) => ({ name: `img${i}.png`, width: size + i, height: size + 2 * i, pixels }));

/** `n` images whose red channel is a unique id (10, 20, ...), to tell them apart after a split. */
const tagged = (n: number, green: number): ImageSpec[] =>
  Array.from({ length: n }, (_, i) => ({ name: `f${String(i).padStart(2, '0')}.png`, pixels: [(i + 1) * 10, green, 0] }));

async function readAll(split: SplitSource): Promise<Uint8Array> {
  return split.read(Array.from({ length: split.length }, (_, i) => i));
}

/** The first pixel of every sample in a split. */
async function firstPixels(dataset: Dataset, split: 'train' | 'test'): Promise<number[][]> {
  const pixels = await readAll(dataset.splits[split]);
  const bytes = dataset.shape.height * dataset.shape.width * 3;
  return Array.from({ length: dataset.splits[split].length }, (_, i) => Array.from(pixels.subarray(i * bytes, i * bytes + 3)));
}

async function rejection(promise: Promise<unknown>): Promise<DatasetError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DatasetError);
  return error as DatasetError;
}

describe('image folder, train/ and val/ layout', () => {
  const tmp = useTempDir();

  function build(): string {
    const root = path.join(tmp(), 'pets');
    makeImageFolder(root, {
      'train/dog': solid(3, GREEN),
      'train/cat': solid(2, RED),
      'train/bird': solid(1, BLUE, 40),
      'val/cat': solid(1, RED, 50),
      'val/dog': solid(2, GREEN),
    });
    return root;
  }

  it('takes the sorted train/ folders as classes and counts val/ per class (a missing one as 0)', async () => {
    const root = build();
    expect(detectImageFolder(root)).toBe(true);
    const summary = await imageFolderFormat.summarize(root);
    expect(summary).toEqual({
      kind: 'imagefolder',
      name: 'pets',
      classes: ['bird', 'cat', 'dog'],
      shape: { height: 32, width: 32, channels: 3 },
      counts: { train: [1, 2, 3], test: [0, 1, 2] },
      decodedBytes: 9 * 32 * 32 * 3,
      skipped: { files: [], count: 0 },
    });
    const small = await imageFolderFormat.summarize(root, { size: 16 });
    expect(small.shape).toEqual({ height: 16, width: 16, channels: 3 });
    expect(small.decodedBytes).toBe(9 * 16 * 16 * 3);
  });

  it('decodes every image to solid size x size RGB with its label', async () => {
    const root = build();
    const progress: number[] = [];
    const dataset = await openImageFolder(root, { size: 16, onProgress: (done, total) => progress.push(done / total) });
    expect(dataset.classes).toEqual(['bird', 'cat', 'dog']);
    expect(dataset.shape).toEqual({ height: 16, width: 16, channels: 3 });
    expect(Array.from(dataset.splits.train.labels)).toEqual([0, 1, 1, 2, 2, 2]);
    expect(Array.from(dataset.splits.test.labels)).toEqual([1, 2, 2]);
    expect(progress).toHaveLength(9);
    expect(progress.at(-1)).toBe(1);

    const colours = [BLUE, RED, GREEN];
    for (const split of ['train', 'test'] as const) {
      const source = dataset.splits[split];
      const pixels = await readAll(source);
      expect(pixels.length).toBe(source.length * 16 * 16 * 3);
      for (let i = 0; i < pixels.length; i += 3) {
        expect(Array.from(pixels.subarray(i, i + 3))).toEqual(colours[source.labels[Math.floor(i / (16 * 16 * 3))]!]);
      }
    }
  });

  it('accepts test/ in place of val/', async () => {
    const root = tmp();
    makeImageFolder(root, { 'train/a': solid(2, RED), 'train/b': solid(2, BLUE), 'test/b': solid(1, BLUE) });
    expect(detectImageFolder(root)).toBe(true);
    expect((await summarizeImageFolder(root)).counts).toEqual({ train: [2, 2], test: [0, 1] });
  });

  it('names a val/ class that train/ lacks', async () => {
    const root = tmp();
    makeImageFolder(root, { 'train/cat': solid(1, RED), 'val/cat': solid(1, RED), 'val/cow': solid(1, GREEN) });
    const error = await rejection(summarizeImageFolder(root));
    expect(error.file).toBe(path.join(root, 'val', 'cow'));
    expect(error.message).toMatch(/is a class folder in val\/ with no matching folder in train\/\. Rename it .* or add train\/cow\//);
  });

  it('asks for val/ when there is only train/', async () => {
    const root = tmp();
    makeImageFolder(root, { 'train/cat': solid(1, RED), 'train/dog': solid(1, GREEN) });
    const error = await rejection(summarizeImageFolder(root));
    expect(error.message).toMatch(/has a train\/ folder but no val\/ or test\/ folder/);
  });

  it('refuses images outside a class folder, as in ImageNet\'s unsorted val/', async () => {
    const root = tmp();
    makeImageFolder(root, { 'train/cat': solid(1, RED), val: [{ name: 'ILSVRC_val_01.png' }] });
    const unsorted = await rejection(summarizeImageFolder(root));
    expect(unsorted.file).toBe(path.join(root, 'val'));
    expect(unsorted.message).toMatch(/has no class folders \(images such as ILSVRC_val_01\.png sit directly in it\)\. An image folder needs/);

    makeImageFolder(root, { 'val/cat': solid(1, RED) });
    const stray = await rejection(summarizeImageFolder(root));
    expect(stray.file).toBe(path.join(root, 'val', 'ILSVRC_val_01.png'));
    expect(stray.message).toMatch(/is an image directly in val\/, outside any class folder\. Move each image into val\/<class>\//);
  });
});

describe('image folder, flat layout', () => {
  const tmp = useTempDir();

  it('splits each class by a fixed seeded shuffle, at least one test image per class', async () => {
    const root = tmp();
    makeImageFolder(root, { a: tagged(10, 1), b: tagged(5, 2), c: tagged(2, 3), d: tagged(1, 4) });
    expect(detectImageFolder(root)).toBe(true);
    const summary = await summarizeImageFolder(root);
    expect(summary.classes).toEqual(['a', 'b', 'c', 'd']);
    expect(summary.counts).toEqual({ train: [8, 4, 1, 1], test: [2, 1, 1, 0] });
    expect(summary.decodedBytes).toBe(18 * 32 * 32 * 3);
    expect((await summarizeImageFolder(root, { testFraction: 0.5 })).counts).toEqual({ train: [5, 2, 1, 1], test: [5, 3, 1, 0] });

    const dataset = await openImageFolder(root, { size: 4 });
    expect(Array.from(dataset.splits.test.labels)).toEqual([0, 0, 1, 2]);
    const test = await firstPixels(dataset, 'test');
    const train = await firstPixels(dataset, 'train');
    // Every image lands in exactly one split, and the held-out ones are not simply the first files.
    const ids = [...train, ...test].map(([r, g]) => `${g}:${r}`).sort();
    expect(new Set(ids).size).toBe(18);
    expect(test.filter(([, g]) => g === 1).map(([r]) => r)).not.toEqual([10, 20]);
  });

  it('gives the same split on every run and whatever order the files were written in', async () => {
    const forward = path.join(tmp(), 'forward');
    const backward = path.join(tmp(), 'backward');
    makeImageFolder(forward, { x: tagged(12, 1), y: tagged(7, 2) });
    makeImageFolder(backward, { y: tagged(7, 2).reverse(), x: tagged(12, 1).reverse() });
    const first = await openImageFolder(forward, { size: 4 });
    const again = await openImageFolder(forward, { size: 4 });
    const other = await openImageFolder(backward, { size: 4 });
    const held = await firstPixels(first, 'test');
    expect(held).toHaveLength(2 + 1);
    expect(await firstPixels(again, 'test')).toEqual(held);
    expect(await firstPixels(other, 'test')).toEqual(held);
    expect(await firstPixels(other, 'train')).toEqual(await firstPixels(first, 'train'));
  });

  it('reads .PNG/.JPG/.jpeg in any case and skips hidden files and other extensions', async () => {
    const root = tmp();
    makeImageFolder(root, {
      red: [
        { name: 'a.PNG', pixels: RED },
        { name: 'b.JPG', pixels: RED },
        { name: 'c.jpeg', pixels: RED },
      ],
      blue: [{ name: 'x.png', pixels: BLUE }],
    });
    fs.writeFileSync(path.join(root, 'red', 'notes.txt'), 'not an image');
    fs.writeFileSync(path.join(root, 'red', '._a.PNG'), 'macOS resource fork');
    fs.writeFileSync(path.join(root, 'README.md'), 'a data set');
    fs.mkdirSync(path.join(root, '.cache'));
    writePng(path.join(root, '.thumbs', 'x.png'), 2, 2, GREEN);
    const summary = await summarizeImageFolder(root);
    expect(summary.classes).toEqual(['blue', 'red']);
    expect(summary.counts).toEqual({ train: [1, 2], test: [0, 1] });
    // Hidden files are ignored; other files in a class folder are listed (those beside the classes are not).
    expect(summary.skipped).toEqual({ files: [{ file: path.join('red', 'notes.txt'), reason: 'not a .png, .jpg or .jpeg file' }], count: 1 });
  });

  it('lists the first 100 skipped files and counts them all', async () => {
    const root = tmp();
    makeImageFolder(root, { a: solid(2, RED), b: solid(2, BLUE) });
    for (let i = 0; i < 150; i++) fs.writeFileSync(path.join(root, i % 2 ? 'a' : 'b', `caption${String(i).padStart(3, '0')}.txt`), 'words');
    const { skipped } = await summarizeImageFolder(root);
    expect(skipped!.count).toBe(150);
    expect(skipped!.files).toHaveLength(100);
    expect(skipped!.files[0]).toEqual({ file: path.join('a', 'caption001.txt'), reason: 'not a .png, .jpg or .jpeg file' });
  });

  it('resizes a gradient smoothly and keeps JPEG colours close', async () => {
    const root = tmp();
    makeImageFolder(root, {
      gradient: [
        { name: 'g0.png', width: 64, height: 48, pixels: (x) => [x * 4, 100, 255 - x * 4] },
        { name: 'g1.png', width: 64, height: 48, pixels: (x) => [x * 4, 100, 255 - x * 4] },
      ],
      photo: [
        { name: 'p0.jpg', width: 24, height: 24, pixels: GREEN },
        { name: 'p1.jpg', width: 24, height: 24, pixels: GREEN },
      ],
    });
    const dataset = await openImageFolder(root, { size: 8 });
    const pixels = await readAll(dataset.splits.train);
    const gradient = pixels.subarray(0, 8 * 8 * 3);
    const row = Array.from({ length: 8 }, (_, x) => gradient[(3 * 8 + x) * 3]!);
    for (let x = 1; x < 8; x++) expect(row[x]!).toBeGreaterThan(row[x - 1]!);
    // 64 columns shrink to 10, cropped to the middle 8 (from column 1); each averages ~6.4 source columns.
    row.forEach((v, x) => expect(Math.abs(v - ((1 + x + 0.5) * 6.4 - 0.5) * 4)).toBeLessThanOrEqual(4));
    for (let y = 0; y < 8; y++) expect(gradient[(y * 8 + 2) * 3 + 1]).toBe(100);
    const photo = pixels.subarray(8 * 8 * 3);
    for (let i = 0; i < photo.length; i++) expect(Math.abs(photo[i]! - GREEN[i % 3]!)).toBeLessThanOrEqual(6);
  });

  it('names an image beside the class folders', async () => {
    const root = tmp();
    makeImageFolder(root, { cat: solid(1, RED), '.': [{ name: 'cover.jpg' }] });
    const error = await rejection(summarizeImageFolder(root));
    expect(error.file).toBe(path.join(root, 'cover.jpg'));
    expect(error.message).toMatch(/is an image directly in the data set folder, outside any class folder\. Move each image into <class>\//);
  });

  it('refuses more classes than uint8 labels hold', async () => {
    const root = tmp();
    for (let i = 0; i < 257; i++) fs.mkdirSync(path.join(root, `c${i}`));
    const error = await rejection(summarizeImageFolder(root));
    expect(error.message).toMatch(/has 257 class folders; at most 256/);
  });
});

describe('image folder, streaming', () => {
  const tmp = useTempDir();

  it('streams from disk above the memory budget, with the same pixels and labels', async () => {
    const root = tmp();
    makeImageFolder(root, {
      warm: [
        { name: 'a.png', width: 20, height: 12, pixels: (x, y) => [x * 12, y * 20, 50] },
        { name: 'b.jpg', width: 16, height: 16, pixels: RED },
        { name: 'c.png', width: 9, height: 9, pixels: [1, 2, 3], colour: 'grey' },
      ],
      cool: [
        { name: 'd.png', width: 12, height: 30, pixels: (x, y) => [0, x * 20, y * 8, 128], colour: 'rgba' },
        { name: 'e.jpeg', width: 33, height: 17, pixels: (x) => [0, 0, x * 7] },
      ],
    });
    const inMemory = await openImageFolder(root, { size: 8 });
    let progressCalls = 0;
    const streamed = await openImageFolder(root, { size: 8, maxInMemoryBytes: 1, onProgress: () => progressCalls++ });
    expect(progressCalls).toBe(0); // nothing is decoded up front
    for (const split of ['train', 'test'] as const) {
      expect(streamed.splits[split].length).toBe(inMemory.splits[split].length);
      expect(streamed.splits[split].labels).toEqual(inMemory.splits[split].labels);
      expect(await readAll(streamed.splits[split])).toEqual(await readAll(inMemory.splits[split]));
    }
    const order = [2, 0, 1, 0];
    expect(await streamed.splits.train.read(order)).toEqual(await inMemory.splits.train.read(order));
    await expect(streamed.splits.train.read([99])).rejects.toThrow(RangeError);
  });

  it('rejects a read naming a JPEG whose body is cut short', async () => {
    const root = tmp();
    makeImageFolder(root, { 'train/a': solid(1, RED), 'train/b': solid(1, GREEN), 'val/a': solid(1, RED) });
    const jpeg = jpegBytes(32, 32, (x, y) => [x * 8, y * 8, 9]);
    const cut = path.join(root, 'train', 'a', 'cut.jpg');
    fs.writeFileSync(cut, jpeg.subarray(0, jpeg.length >> 1));
    await summarizeImageFolder(root); // the header is fine
    const streamed = await openImageFolder(root, { maxInMemoryBytes: 1 });
    expect(Array.from(streamed.splits.train.labels)).toEqual([0, 0, 1]);
    await expect(streamed.splits.test.read([0])).resolves.toHaveLength(32 * 32 * 3);
    await expect(streamed.splits.train.read([2, 1])).resolves.toHaveLength(2 * 32 * 32 * 3);
    const error = await rejection(streamed.splits.train.read([1, 0]));
    expect(error.file).toBe(cut);
    expect(error.message).toMatch(/cut\.jpg: is a damaged JPEG/);
    expect((await rejection(openImageFolder(root))).file).toBe(cut);
  });
});

describe('image folder, broken data', () => {
  const tmp = useTempDir();

  it('names an empty class folder', async () => {
    const root = tmp();
    makeImageFolder(root, { cat: solid(2, RED), dog: [] });
    fs.writeFileSync(path.join(root, 'dog', 'labels.txt'), 'no images here');
    const error = await rejection(summarizeImageFolder(root));
    expect(error.file).toBe(path.join(root, 'dog'));
    expect(error.message).toMatch(/is a class folder with no \.png, \.jpg or \.jpeg images\. Add images/);
    expect((await rejection(openImageFolder(root))).file).toBe(path.join(root, 'dog'));
  });

  it('names a .png that holds random bytes', async () => {
    const root = tmp();
    makeImageFolder(root, { cat: solid(2, RED) });
    const file = path.join(root, 'cat', 'noise.png');
    fs.writeFileSync(file, Uint8Array.from({ length: 500 }, (_, i) => (i * 31 + 7) % 256));
    const error = await rejection(summarizeImageFolder(root));
    expect(error.file).toBe(file);
    expect(error.message).toMatch(/noise\.png: is not a PNG or JPEG image/);
  });

  it('names a zero-byte .jpg', async () => {
    const root = tmp();
    makeImageFolder(root, { cat: solid(2, RED) });
    const file = path.join(root, 'cat', 'zero.jpg');
    fs.writeFileSync(file, '');
    const error = await rejection(summarizeImageFolder(root));
    expect(error.file).toBe(file);
    expect(error.message).toMatch(/zero\.jpg: is empty \(0 bytes\)/);
  });

  it('names a PNG cut short, before decoding anything', async () => {
    const root = tmp();
    makeImageFolder(root, { 'train/cat': solid(1, RED), 'val/cat': solid(1, RED) });
    const png = pngBytes(40, 40, (x, y) => [x * 6, y * 6, (x * y) % 256]);
    const file = path.join(root, 'val', 'cat', 'half.png');
    fs.writeFileSync(file, png.subarray(0, png.length >> 1));
    const error = await rejection(summarizeImageFolder(root));
    expect(error.file).toBe(file);
    expect(error.message).toMatch(/half\.png: is cut short/);
    expect((await rejection(openImageFolder(root))).file).toBe(file);
    expect((await rejection(openImageFolder(root, { maxInMemoryBytes: 1 }))).file).toBe(file);
  });

  it('explains the layout when there are no class folders', async () => {
    const root = tmp();
    writePng(path.join(root, 'loose.png'), 4, 4, RED);
    fs.writeFileSync(path.join(root, 'data.bin'), new Uint8Array(16));
    expect(detectImageFolder(root)).toBe(false);
    const error = await rejection(summarizeImageFolder(root));
    expect(error.file).toBe(root);
    expect(error.message).toMatch(/has no class folders \(images such as loose\.png sit directly in it\)\. An image folder needs one sub-folder per class/);
    fs.rmSync(path.join(root, 'loose.png'));
    expect((await rejection(summarizeImageFolder(root))).message).toMatch(/has no class folders\. An image folder needs/);
  });

  it('is not detected in folders of other formats or missing folders', () => {
    const root = tmp();
    expect(detectImageFolder(root)).toBe(false);
    fs.mkdirSync(path.join(root, 'cifar-10-batches-bin'));
    fs.writeFileSync(path.join(root, 'cifar-10-batches-bin', 'data_batch_1.bin'), new Uint8Array(8));
    expect(detectImageFolder(root)).toBe(false);
    expect(detectImageFolder(path.join(root, 'missing'))).toBe(false);
  });
});

describe('image folder, links', () => {
  const tmp = useTempDir();
  const build = (root: string) =>
    makeImageFolder(root, { 'train/cat': solid(2, RED), 'train/dog': solid(2, GREEN), 'val/cat': solid(1, RED), 'val/dog': solid(1, GREEN) });

  it('refuses a link that leads out of its class folder, naming it (a link to ../.. once pulled val/ into training)', async () => {
    const root = path.join(tmp(), 'pets');
    build(root);
    const link = path.join(root, 'train', 'cat', 'up');
    fs.symlinkSync('../..', link, 'dir');
    const error = await rejection(summarizeImageFolder(root));
    expect(error.file).toBe(link);
    expect(error.message).toMatch(/up: is a link to .*pets, outside its class folder .*train\/cat\. Links inside a class folder are not followed/);
    expect((await rejection(openImageFolder(root))).file).toBe(link);
    expect((await rejection(verifyImageFolder(root))).file).toBe(link);

    // A link to one file of another split is refused the same way.
    fs.rmSync(link);
    const stolen = path.join(root, 'train', 'cat', 'stolen.png');
    fs.symlinkSync(path.join(root, 'val', 'dog', 'img0.png'), stolen);
    expect((await rejection(summarizeImageFolder(root))).file).toBe(stolen);
  });

  it('skips and lists links that stay inside their class folder, so every image counts once', async () => {
    const root = tmp();
    build(root);
    fs.symlinkSync('img0.png', path.join(root, 'train', 'cat', 'again.png'));
    fs.symlinkSync('.', path.join(root, 'train', 'cat', 'loop'), 'dir');
    fs.symlinkSync('missing.png', path.join(root, 'val', 'dog', 'dangling.png'));
    const summary = await summarizeImageFolder(root);
    expect(summary.counts).toEqual({ train: [2, 2], test: [1, 1] });
    expect(summary.skipped).toEqual({
      count: 3,
      files: [
        { file: path.join('train', 'cat', 'again.png'), reason: 'a link to img0.png in the same class folder: its images count once, where they are' },
        { file: path.join('train', 'cat', 'loop'), reason: 'a link to its own class folder in the same class folder: its images count once, where they are' },
        { file: path.join('val', 'dog', 'dangling.png'), reason: 'a link to nothing (its target is missing)' },
      ],
    });
    const dataset = await openImageFolder(root, { size: 8 });
    expect(dataset.splits.train.length).toBe(4);
  });

  it('refuses class folders that are one folder through a link, in two splits or two classes', async () => {
    const root = tmp();
    build(root);
    const valCat = path.join(root, 'val', 'cat');
    fs.rmSync(valCat, { recursive: true });
    fs.symlinkSync(path.join(root, 'train', 'cat'), valCat, 'dir');
    const same = await rejection(summarizeImageFolder(root));
    expect(same.file).toBe(valCat);
    expect(same.message).toMatch(/val\/cat: is the same folder as .*train\/cat \(through a link, both are .*\)\. Each class of each split needs a folder of its own/);

    const flat = path.join(tmp(), 'flat');
    makeImageFolder(flat, { cat: solid(2, RED), 'dog/small': solid(2, GREEN) });
    fs.symlinkSync(path.join(flat, 'dog', 'small'), path.join(flat, 'pup'), 'dir');
    const inside = await rejection(summarizeImageFolder(flat));
    expect(inside.file).toBe(path.join(flat, 'pup'));
    expect(inside.message).toMatch(/pup: lies inside .*dog \(through a link, it is .*small\)/);
  });

  it('accepts a class folder that is itself a link to images kept elsewhere', async () => {
    const store = path.join(tmp(), 'photo-store', 'cats');
    makeImageFolder(store, { '.': solid(3, RED) });
    const root = path.join(tmp(), 'pets');
    makeImageFolder(root, { 'train/dog': solid(2, GREEN), 'val/dog': solid(1, GREEN), 'val/cat': solid(1, RED) });
    fs.symlinkSync(store, path.join(root, 'train', 'cat'), 'dir');
    const summary = await summarizeImageFolder(root);
    expect(summary.classes).toEqual(['cat', 'dog']);
    expect(summary.counts).toEqual({ train: [3, 2], test: [1, 1] });
    expect(summary.skipped!.count).toBe(0);
  });
});

describe('image folder, decoding every image once', () => {
  const tmp = useTempDir();

  it('names a JPEG cut in half and a PNG with garbled pixels, which pass the header check', async () => {
    const root = tmp();
    makeImageFolder(root, { 'train/a': solid(2, RED), 'train/b': solid(2, GREEN), 'val/a': solid(1, RED), 'val/b': solid(1, GREEN) });
    await verifyImageFolder(root, { size: 8 });

    const jpeg = jpegBytes(64, 48, (x, y) => [x * 4, y * 5, 60]);
    const cut = path.join(root, 'val', 'b', 'cut.jpg');
    fs.writeFileSync(cut, jpeg.subarray(0, jpeg.length >> 1));
    await summarizeImageFolder(root); // headers alone do not see it
    const cutError = await rejection(verifyImageFolder(root));
    expect(cutError.file).toBe(cut);
    expect(cutError.message).toMatch(/cut\.jpg: is a damaged JPEG .*\. Copy the file again from its source, or delete it/);

    fs.rmSync(cut);
    const garbled = path.join(root, 'train', 'a', 'garbled.png');
    fs.writeFileSync(garbled, garblePngPixels(pngBytes(64, 48, (x, y) => [x * 4, y * 5, (x * y) % 256])));
    await summarizeImageFolder(root);
    const garbledError = await rejection(verifyImageFolder(root));
    expect(garbledError.file).toBe(garbled);
    expect(garbledError.message).toMatch(/garbled\.png: is a damaged PNG/);
  });

  it('reports progress over every image of both splits', async () => {
    const root = tmp();
    makeImageFolder(root, { 'train/a': solid(3, RED), 'train/b': solid(2, GREEN), 'val/a': solid(1, RED), 'val/b': solid(1, GREEN) });
    const seen: [number, number][] = [];
    await verifyImageFolder(root, { onProgress: (done, total) => seen.push([done, total]) });
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((done) => [done, 7]));
  });
});
