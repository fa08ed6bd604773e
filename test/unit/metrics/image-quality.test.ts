import { describe, expect, it } from 'vitest';
import {
  cropBorder,
  psnr,
  psnrRgb,
  psnrY,
  rgbToY,
  ssim,
  ssimRgbMeanOverChannels,
  ssimY,
  type Image,
} from '../../../main/metrics/image-quality';

/** A seeded pseudo-random byte image (mulberry32), so cases are reproducible. */
function randomImage(width: number, height: number, channels: number, seed: number): Image {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 256);
  return { width, height, channels, data };
}

function map(image: Image, f: (v: number, i: number) => number): Image {
  return { ...image, data: Float64Array.from(Array.from(image.data), f) };
}

const C1 = (0.01 * 255) ** 2; // 6.5025
const C2 = (0.03 * 255) ** 2; // 58.5225

/** SSIM by its definition with an explicit 2-D Gaussian, one window at a time (no separable filtering). */
function bruteForceGaussianSsim(a: Image, b: Image, size = 11, sigma = 1.5): number {
  const g: number[][] = [];
  let total = 0;
  const c = (size - 1) / 2;
  for (let i = 0; i < size; i++) {
    g.push([]);
    for (let j = 0; j < size; j++) {
      const v = Math.exp(-((i - c) ** 2 + (j - c) ** 2) / (2 * sigma * sigma));
      g[i]!.push(v);
      total += v;
    }
  }
  let sum = 0;
  let count = 0;
  for (let y = 0; y + size <= a.height; y++) {
    for (let x = 0; x + size <= a.width; x++) {
      let ma = 0, mb = 0;
      for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) {
        const w = g[i]![j]! / total;
        ma += w * a.data[(y + i) * a.width + x + j]!;
        mb += w * b.data[(y + i) * a.width + x + j]!;
      }
      let va = 0, vb = 0, cov = 0;
      for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) {
        const w = g[i]![j]! / total;
        const da = a.data[(y + i) * a.width + x + j]! - ma;
        const db = b.data[(y + i) * a.width + x + j]! - mb;
        va += w * da * da;
        vb += w * db * db;
        cov += w * da * db;
      }
      sum += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
      count++;
    }
  }
  return sum / count;
}

describe('image quality: PSNR', () => {
  it('is infinite for identical images', () => {
    const a = randomImage(16, 16, 3, 1);
    expect(psnr(a, a, 255)).toBe(Infinity);
  });

  it('gives 20 log10(255/5) = 34.1514 dB for a constant offset of 5 grey levels', () => {
    const a = randomImage(12, 10, 1, 2);
    const b = map(a, (v) => v + 5);
    // MSE = 5^2 = 25, so PSNR = 10 log10(255^2 / 25) = 20 log10(51) = 20 * 1.70757017... = 34.1514035...
    expect(psnr(a, b, 255)).toBeCloseTo(34.151403521958726, 10);
    // On [0, 1] images the same offset is 5/255: the same PSNR with peak 1.
    expect(psnr(map(a, (v) => v / 255), map(b, (v) => v / 255), 1)).toBeCloseTo(34.151403521958726, 10);
  });

  it('averages the squared error over all RGB values: one channel off by 6 gives MSE 36/3 = 12', () => {
    const a = randomImage(8, 8, 3, 3);
    const b = map(a, (v, i) => (i % 3 === 0 ? v + 6 : v));
    expect(psnrRgb(a, b, 255)).toBeCloseTo(10 * Math.log10((255 * 255) / 12), 10);
  });
});

describe('image quality: SSIM', () => {
  it('is 1 for identical images', () => {
    const a = randomImage(20, 20, 1, 4);
    expect(ssim(a, a, { peak: 255 })).toBeCloseTo(1, 12);
  });

  it('matches the hand value for a 3x3 image against a copy shifted by 10 (one 3x3 uniform window)', () => {
    const a: Image = { width: 3, height: 3, channels: 1, data: [0, 1, 2, 3, 4, 5, 6, 7, 8] };
    const b = map(a, (v) => v + 10);
    // Shift keeps variances and makes covariance = variance, so the contrast-structure factor is 1;
    // means 4 and 14: (2*4*14 + C1) / (4^2 + 14^2 + C1) = 118.5025 / 218.5025.
    expect(ssim(a, b, { peak: 255, window: 'uniform', windowSize: 3 })).toBeCloseTo(118.5025 / 218.5025, 12);
  });

  it('averages the four 3x3 uniform windows of a 4x4 ramp against its shift by 10', () => {
    const a: Image = { width: 4, height: 4, channels: 1, data: Array.from({ length: 16 }, (_, i) => i) };
    const b = map(a, (v) => v + 10);
    // Window means of the ramp v = 4y + x: 5, 6 (top row of windows), 9, 10 (bottom row).
    const luminance = (m: number) => (2 * m * (m + 10) + C1) / (m * m + (m + 10) ** 2 + C1);
    const expected = (luminance(5) + luminance(6) + luminance(9) + luminance(10)) / 4;
    expect(ssim(a, b, { peak: 255, window: 'uniform', windowSize: 3 })).toBeCloseTo(expected, 12);
  });

  it('with the 11x11 Gaussian window (sigma 1.5) equals the direct 2-D formula on an 11x11 image', () => {
    const a = randomImage(11, 11, 1, 5);
    const noise = randomImage(11, 11, 1, 6);
    const b = map(a, (v, i) => v * 0.7 + noise.data[i]! * 0.3);
    const value = ssim(a, b, { peak: 255 });
    expect(value).toBeCloseTo(bruteForceGaussianSsim(a, b), 10);
    expect(value).toBeLessThan(0.99);
  });

  it('with the Gaussian window equals the direct formula averaged over every valid window of a 23x17 image', () => {
    const a = randomImage(23, 17, 1, 7);
    const noise = randomImage(23, 17, 1, 8);
    const b = map(a, (v, i) => Math.min(255, Math.max(0, v + (noise.data[i]! - 128) * 0.25)));
    const value = ssim(a, b, { peak: 255 });
    expect(value).toBeCloseTo(bruteForceGaussianSsim(a, b), 10);
    expect(value).toBeGreaterThan(0.5);
    expect(value).toBeLessThan(1);
    expect(ssim(b, a, { peak: 255 })).toBeCloseTo(value, 12); // symmetric
  });

  it('on RGB, averages per-channel SSIM: only red changed gives (s_red + 1 + 1) / 3', () => {
    const a = randomImage(14, 14, 3, 9);
    const b = map(a, (v, i) => (i % 3 === 0 ? 255 - v : v));
    const red = (img: Image): Image => ({ width: 14, height: 14, channels: 1, data: Array.from({ length: 196 }, (_, i) => img.data[3 * i]!) });
    const sRed = ssim(red(a), red(b), { peak: 255 });
    expect(sRed).toBeLessThan(0.5);
    expect(ssimRgbMeanOverChannels(a, b, { peak: 255 })).toBeCloseTo((sRed + 2) / 3, 12);
  });

  it('refuses images of different shapes, several channels, or smaller than the window, saying what to do', () => {
    const a = randomImage(12, 12, 1, 10);
    expect(() => ssim(a, randomImage(12, 11, 1, 10), { peak: 255 })).toThrow(/differ in shape.*12x12x1 against 12x11x1/);
    expect(() => ssim(randomImage(12, 12, 3, 1), randomImage(12, 12, 3, 1), { peak: 255 })).toThrow(/one channel.*ssimY/);
    expect(() => ssim(randomImage(8, 8, 1, 1), randomImage(8, 8, 1, 1), { peak: 255 })).toThrow(/at least 11x11/);
    expect(() => psnr(a, a, 0)).toThrow(/peak must be a positive number/);
  });
});

describe('image quality: Y and crops', () => {
  it('converts pure colours to BT.601 luma (16..235 on the 0-255 scale)', () => {
    const colours: Image = { width: 5, height: 1, channels: 3, data: [0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255] };
    const y = Array.from(rgbToY(colours, 255).data);
    // black 16, white 16 + 65.481 + 128.553 + 24.966 = 235, red 16 + 65.481, green 16 + 128.553, blue 16 + 24.966
    [16, 235, 81.481, 144.553, 40.966].forEach((v, i) => expect(y[i]).toBeCloseTo(v, 9));
    const unit = Array.from(rgbToY(map(colours, (v) => v / 255), 1).data);
    expect(unit[1]).toBeCloseTo(235 / 255, 12);
    expect(unit[0]).toBeCloseTo(16 / 255, 12);
  });

  it('crops the border on every side', () => {
    const a: Image = { width: 4, height: 4, channels: 1, data: Array.from({ length: 16 }, (_, i) => i) };
    const c = cropBorder(a, 1);
    expect([c.width, c.height]).toEqual([2, 2]);
    expect(Array.from(c.data)).toEqual([5, 6, 9, 10]);
    expect(() => cropBorder(a, 2)).toThrow(/leaves nothing/);
  });

  it('PSNR and SSIM on Y ignore the cropped border and see a grey offset as a Y offset', () => {
    const a = randomImage(20, 20, 3, 11);
    // +10 on all of R, G, B moves Y by (65.481 + 128.553 + 24.966) * 10 / 255 = 219 * 10 / 255.
    const b = map(a, (v) => v + 10);
    const dy = (219 * 10) / 255;
    expect(psnrY(a, b, 255)).toBeCloseTo(20 * Math.log10(255 / dy), 9);
    // Damage only the outer 2 px: with border 2 the images are identical.
    const damaged = map(a, (v, i) => {
      const p = Math.floor(i / 3);
      const x = p % 20;
      const y = Math.floor(p / 20);
      return x < 2 || y < 2 || x >= 18 || y >= 18 ? 255 - v : v;
    });
    expect(psnrY(a, damaged, 255, 2)).toBe(Infinity);
    expect(ssimY(a, damaged, { peak: 255 }, 2)).toBeCloseTo(1, 12);
    // Uncropped, the damage counts (little: the Gaussian window weighs its edges lightly).
    expect(ssimY(a, damaged, { peak: 255 })).toBeLessThan(0.999);
  });
});
