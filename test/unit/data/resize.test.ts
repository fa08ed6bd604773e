import { describe, expect, it } from 'vitest';
import { resizeAndCenterCrop, type RgbPixels, shorterSideTo } from '../../../main/data/resize';

function image(width: number, height: number, fn: (x: number, y: number) => [number, number, number]): RgbPixels {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(fn(x, y), (y * width + x) * 3);
  return { width, height, data };
}

/** Channel `c` of the output pixel at (x, y). */
const at = (out: Uint8Array, size: number, x: number, y: number, c = 0) => out[(y * size + x) * 3 + c]!;

describe('resizeAndCenterCrop', () => {
  it('scales the shorter side like torchvision (the longer one truncated)', () => {
    expect(shorterSideTo(40, 30, 32)).toEqual({ width: 42, height: 32 });
    expect(shorterSideTo(30, 40, 32)).toEqual({ width: 32, height: 42 });
    expect(shorterSideTo(64, 64, 32)).toEqual({ width: 32, height: 32 });
  });

  it('keeps a solid colour exactly, enlarging or shrinking, square or not', () => {
    for (const [w, h, size] of [
      [5, 7, 32],
      [64, 48, 16],
      [63, 17, 8],
      [8, 8, 8],
    ] as const) {
      const out = resizeAndCenterCrop(image(w, h, () => [200, 13, 77]), size);
      expect(out.length).toBe(size * size * 3);
      for (let i = 0; i < out.length; i += 3) expect([out[i], out[i + 1], out[i + 2]]).toEqual([200, 13, 77]);
    }
  });

  it('returns an image of the target size unchanged', () => {
    const src = image(6, 6, (x, y) => [x * 40, y * 40, (x + y) * 10]);
    expect(resizeAndCenterCrop(src, 6)).toEqual(src.data);
  });

  it('crops the centre of the longer side', () => {
    // Already 4 high: no scaling, columns 2..5 of 8 are kept.
    const out = resizeAndCenterCrop(image(8, 4, (x) => [x * 10, 0, 0]), 4);
    expect([0, 1, 2, 3].map((x) => at(out, 4, x, 0))).toEqual([20, 30, 40, 50]);
    expect([0, 1, 2, 3].map((x) => at(out, 4, x, 3))).toEqual([20, 30, 40, 50]);
  });

  it('enlarges by bilinear interpolation between pixel centres, clamped at the edges', () => {
    const out = resizeAndCenterCrop(image(4, 4, (x) => [x * 80, 255 - x * 80, 9]), 8);
    const row = (y: number, c: number) => Array.from({ length: 8 }, (_, x) => at(out, 8, x, y, c));
    // Output centres fall at source positions -0.25, 0.25, 0.75 ... 3.25.
    expect(row(0, 0)).toEqual([0, 20, 60, 100, 140, 180, 220, 240]);
    expect(row(5, 0)).toEqual(row(0, 0));
    expect(row(3, 1)).toEqual([255, 235, 195, 155, 115, 75, 35, 15]);
    expect(row(7, 2)).toEqual(new Array(8).fill(9));
  });

  it('keeps a gradient monotone when shrinking a non-square image', () => {
    const out = resizeAndCenterCrop(image(60, 40, (x, y) => [x * 4, y * 6, 0]), 10);
    for (let y = 0; y < 10; y++) {
      for (let x = 1; x < 10; x++) expect(at(out, 10, x, y)).toBeGreaterThan(at(out, 10, x - 1, y));
    }
    for (let x = 0; x < 10; x++) {
      for (let y = 1; y < 10; y++) expect(at(out, 10, x, y, 1)).toBeGreaterThan(at(out, 10, x, y - 1, 1));
    }
    // Both axes shrink by 4; the 15 scaled columns are cropped to the middle 10, from column 2 on.
    // Away from the edges a symmetric filter reproduces a linear ramp: output 5 is centred on
    // source position (2 + 5 + 0.5) * 4 = 30, where the ramp x * 4 over centres x + 0.5 reads 118.
    expect(at(out, 10, 5, 0)).toBe(118);
    expect(at(out, 10, 0, 0, 1)).toBeGreaterThan(0);
    expect(at(out, 10, 0, 0, 1)).toBeLessThan(24);
  });

  it('averages when shrinking strongly instead of skipping pixels', () => {
    // One bright column in four: point sampling at the output centres would see only black.
    const out = resizeAndCenterCrop(image(32, 32, (x) => (x % 4 === 0 ? [255, 255, 255] : [0, 0, 0])), 8);
    for (let x = 0; x < 8; x++) {
      expect(at(out, 8, x, 4)).toBeGreaterThan(40);
      expect(at(out, 8, x, 4)).toBeLessThan(90);
    }
  });

  it('refuses a size that is not a positive integer', () => {
    const src = image(4, 4, () => [0, 0, 0]);
    expect(() => resizeAndCenterCrop(src, 0)).toThrow(RangeError);
    expect(() => resizeAndCenterCrop(src, 2.5)).toThrow(RangeError);
  });
});
