import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage, decodeImageFile, readImageHeader, sniffImage } from '../../../main/data/image-codec';
import { DatasetError } from '../../../main/data/types';
import { jpegBytes, pngBytes, writeJpeg, writePng } from '../../helpers/image-files';
import { useTempDir } from '../../helpers/temp';

/** A JPEG with `count` APP1 blocks of `bytes` each before its frame header, like a large EXIF or ICC block. */
function withAppBlocks(jpeg: Uint8Array, count: number, bytes = 60_000): Buffer {
  const block = Buffer.alloc(bytes + 4, 0x41);
  block.set([0xff, 0xe1, (bytes + 2) >> 8, (bytes + 2) & 0xff]);
  return Buffer.concat([jpeg.subarray(0, 2), ...Array.from({ length: count }, () => block), jpeg.subarray(2)]);
}

function expectDatasetError(fn: () => unknown, file: string, message: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(DatasetError);
  expect((thrown as DatasetError).file).toBe(file);
  expect((thrown as DatasetError).message).toMatch(message);
}

describe('sniffImage', () => {
  it('reads format and size from PNG and JPEG headers', () => {
    expect(sniffImage(pngBytes(37, 21, [1, 2, 3]))).toEqual({ kind: 'image', header: { format: 'png', width: 37, height: 21 } });
    expect(sniffImage(pngBytes(5, 9, [9, 9, 9], 'grey'))).toEqual({ kind: 'image', header: { format: 'png', width: 5, height: 9 } });
    expect(sniffImage(jpegBytes(19, 33, [1, 2, 3]))).toEqual({ kind: 'image', header: { format: 'jpeg', width: 19, height: 33 } });
    expect(sniffImage(withAppBlocks(jpegBytes(19, 33, [1, 2, 3]), 1))).toEqual({ kind: 'image', header: { format: 'jpeg', width: 19, height: 33 } });
  });

  it('asks for more bytes when a JPEG header continues past them', () => {
    const jpeg = withAppBlocks(jpegBytes(8, 8, [0, 0, 0]), 1);
    expect(sniffImage(jpeg.subarray(0, 4096))).toEqual({ kind: 'need-more' });
  });

  it('says what is wrong with bytes that are not a PNG or JPEG', () => {
    const problem = (bytes: Uint8Array) => {
      const result = sniffImage(bytes);
      return result.kind === 'invalid' ? result.problem : result.kind;
    };
    expect(problem(new Uint8Array(0))).toMatch(/empty/);
    expect(problem(Buffer.from('GIF89a....'))).toMatch(/not a PNG or JPEG/);
    expect(problem(pngBytes(4, 4, [0, 0, 0]).subarray(0, 20))).toMatch(/cut short/);
    const zeroWide = Buffer.from(pngBytes(4, 4, [0, 0, 0]));
    zeroWide.writeUInt32BE(0, 16);
    expect(problem(zeroWide)).toMatch(/0x4 pixels/);
    expect(problem(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 8]))).toMatch(/before the frame header/);
  });
});

describe('readImageHeader', () => {
  const tmp = useTempDir();

  it('finds a JPEG frame header behind more than 64 KiB of metadata', () => {
    const file = path.join(tmp(), 'exif.jpg');
    fs.writeFileSync(file, withAppBlocks(jpegBytes(12, 7, [0, 0, 0]), 3));
    expect(readImageHeader(file)).toEqual({ format: 'jpeg', width: 12, height: 7 });
  });

  it('names broken files: random bytes, empty, cut-short header, cut-short PNG body', () => {
    const dir = tmp();
    const random = path.join(dir, 'random.png');
    fs.writeFileSync(random, Uint8Array.from({ length: 300 }, (_, i) => (i * 97 + 13) % 256));
    expectDatasetError(() => readImageHeader(random), random, /random\.png: is not a PNG or JPEG image/);

    const empty = path.join(dir, 'empty.jpg');
    fs.writeFileSync(empty, '');
    expectDatasetError(() => readImageHeader(empty), empty, /is empty \(0 bytes\)\. Copy the file again/);

    const jpegHead = path.join(dir, 'head.jpg');
    fs.writeFileSync(jpegHead, jpegBytes(8, 8, [0, 0, 0]).subarray(0, 30));
    expectDatasetError(() => readImageHeader(jpegHead), jpegHead, /cut short: the JPEG ends before its frame header/);

    const pngBody = path.join(dir, 'body.png');
    const png = pngBytes(32, 32, (x, y) => [x * 8, y * 8, (x * y) % 256]);
    fs.writeFileSync(pngBody, png.subarray(0, png.length >> 1));
    expectDatasetError(() => readImageHeader(pngBody), pngBody, /cut short: the PNG has no end chunk/);

    const missing = path.join(dir, 'missing.png');
    expectDatasetError(() => readImageHeader(missing), missing, /cannot be opened \(ENOENT\)/);
  });
});

describe('decodeImage', () => {
  it('decodes an RGB PNG exactly', () => {
    const image = decodeImage(pngBytes(3, 2, (x, y) => [x * 50, y * 100, 7]));
    expect(image.width).toBe(3);
    expect(image.height).toBe(2);
    expect(Array.from(image.data)).toEqual([0, 0, 7, 50, 0, 7, 100, 0, 7, 0, 100, 7, 50, 100, 7, 100, 100, 7]);
  });

  it('repeats grey into three equal channels', () => {
    const grey = decodeImage(pngBytes(4, 1, (x) => [x * 60, x * 60, x * 60], 'grey'));
    expect(Array.from(grey.data)).toEqual([0, 0, 0, 60, 60, 60, 120, 120, 120, 180, 180, 180]);
    const greyAlpha = decodeImage(pngBytes(2, 1, (x) => [x * 90, x * 90, x * 90, 10], 'grey-alpha'));
    expect(Array.from(greyAlpha.data)).toEqual([0, 0, 0, 90, 90, 90]);
  });

  it('drops alpha, keeping the colour of transparent pixels', () => {
    const image = decodeImage(pngBytes(2, 1, (x) => [200, 100, 50, x === 0 ? 0 : 128], 'rgba'));
    expect(Array.from(image.data)).toEqual([200, 100, 50, 200, 100, 50]);
  });

  it('decodes a JPEG close to its source colours', () => {
    const image = decodeImage(jpegBytes(16, 16, (x) => (x < 8 ? [220, 30, 40] : [20, 60, 200])));
    expect(image.data.length).toBe(16 * 16 * 3);
    const pixel = (x: number, y: number) => Array.from(image.data.subarray((y * 16 + x) * 3, (y * 16 + x) * 3 + 3));
    pixel(2, 5).forEach((v, c) => expect(Math.abs(v - [220, 30, 40][c]!)).toBeLessThanOrEqual(8));
    pixel(13, 9).forEach((v, c) => expect(Math.abs(v - [20, 60, 200][c]!)).toBeLessThanOrEqual(8));
  });

  it('goes by the bytes, not the name: a grey JPEG decodes to equal channels', () => {
    const image = decodeImage(jpegBytes(8, 8, [90, 90, 90]));
    for (let i = 0; i < image.data.length; i += 3) {
      expect(image.data[i]).toBe(image.data[i + 1]);
      expect(image.data[i + 1]).toBe(image.data[i + 2]);
      expect(Math.abs(image.data[i]! - 90)).toBeLessThanOrEqual(3);
    }
  });
});

describe('decodeImageFile', () => {
  const tmp = useTempDir();

  it('decodes a JPEG whatever its extension', async () => {
    const file = writeJpeg(path.join(tmp(), 'really-a-jpeg.png'), 8, 4, [0, 200, 0]);
    const image = await decodeImageFile(file);
    expect([image.width, image.height]).toEqual([8, 4]);
  });

  it('rejects a JPEG cut short after a good header, naming the file', async () => {
    const file = path.join(tmp(), 'cut.jpg');
    const jpeg = jpegBytes(32, 32, (x, y) => [x * 8, y * 8, 100]);
    fs.writeFileSync(file, jpeg.subarray(0, jpeg.length >> 1));
    expect(readImageHeader(file)).toEqual({ format: 'jpeg', width: 32, height: 32 });
    const error = await decodeImageFile(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as DatasetError).file).toBe(file);
    expect((error as DatasetError).message).toMatch(/cut\.jpg: is a damaged JPEG/);
  });

  it('rejects a PNG cut short after a good header, naming the file', async () => {
    const file = path.join(tmp(), 'cut.png');
    const png = pngBytes(32, 32, (x, y) => [x * 8, y * 8, (x * y) % 256]);
    fs.writeFileSync(file, png.subarray(0, png.length >> 1));
    await expect(decodeImageFile(file)).rejects.toThrow(/cut\.png: is cut short: the PNG ends before its last pixels/);
    const rgb = writePng(path.join(tmp(), 'ok.png'), 2, 2, [1, 2, 3]);
    await expect(decodeImageFile(rgb)).resolves.toMatchObject({ width: 2, height: 2 });
  });
});
