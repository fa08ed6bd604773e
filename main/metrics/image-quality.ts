/**
 * Full-reference image quality: PSNR and SSIM as papers report them (SPEAK's table, the
 * super-resolution tables), plus the RGB -> Y conversion and border crop SR papers apply first.
 * Plain TypeScript over typed arrays so any module (eval, SR, tests) can use it without TF.js.
 *
 * Images are interleaved HWC (`channels` values per pixel, row-major). SSIM works on one channel;
 * the RGB helpers say in their names how they reduce three channels to one number.
 */

export type Pixels = ArrayLike<number>;

/** An interleaved HWC image; `channels` is 1 for grey / Y, 3 for RGB. */
export interface Image {
  width: number;
  height: number;
  channels: number;
  data: Pixels;
}

export interface SsimOptions {
  /** The data range L (1 for [0, 1] floats, 255 for bytes). */
  peak: number;
  /** 'gaussian' (Wang et al. 2004: sigma 1.5) or 'uniform' (a box of equal weights). Default gaussian. */
  window?: 'gaussian' | 'uniform';
  /** Side of the square window in pixels; default 11. */
  windowSize?: number;
  /** Standard deviation of the Gaussian window in pixels; default 1.5. */
  sigma?: number;
  /** Default 0.01 and 0.03 (the paper's constants). */
  k1?: number;
  k2?: number;
}

function checkImage(image: Image, what: string): void {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`${what}: width and height must be positive integers (got ${width}x${height})`);
  }
  if (!Number.isInteger(channels) || channels < 1) throw new Error(`${what}: channels must be a positive integer (got ${channels})`);
  if (data.length !== width * height * channels) {
    throw new Error(`${what}: ${data.length} values do not fill ${width}x${height}x${channels} (${width * height * channels} expected)`);
  }
}

function checkPair(a: Image, b: Image): void {
  checkImage(a, 'First image');
  checkImage(b, 'Second image');
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
    throw new Error(`Images differ in shape: ${a.width}x${a.height}x${a.channels} against ${b.width}x${b.height}x${b.channels}; compare images of the same size and channel count`);
  }
}

function checkPeak(peak: number): void {
  if (!(peak > 0) || !Number.isFinite(peak)) throw new Error(`peak must be a positive number (1 for [0, 1] images, 255 for bytes); got ${peak}`);
}

/** Mean squared error over every value of every channel. */
export function meanSquaredError(a: Image, b: Image): number {
  checkPair(a, b);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i]! - b.data[i]!;
    sum += d * d;
  }
  return sum / a.data.length;
}

/** PSNR in dB = 10 log10(peak^2 / MSE), the MSE over all values and channels; Infinity for identical images. */
export function psnr(a: Image, b: Image, peak: number): number {
  checkPeak(peak);
  const mse = meanSquaredError(a, b);
  return mse === 0 ? Infinity : 10 * Math.log10((peak * peak) / mse);
}

/** The normalised 1-D window whose outer product is the 2-D SSIM window (both windows are separable). */
export function ssimWindow1d(kind: 'gaussian' | 'uniform', size: number, sigma: number): Float64Array {
  if (!Number.isInteger(size) || size < 1) throw new Error(`windowSize must be a positive integer (got ${size})`);
  const w = new Float64Array(size);
  const centre = (size - 1) / 2;
  for (let i = 0; i < size; i++) w[i] = kind === 'uniform' ? 1 : Math.exp(-((i - centre) ** 2) / (2 * sigma * sigma));
  const total = w.reduce((s, v) => s + v, 0);
  for (let i = 0; i < size; i++) w[i]! /= total;
  return w;
}

/** Channel `c` of an interleaved image as a float plane. */
export function channelPlane(image: Image, c: number): Float64Array {
  checkImage(image, 'Image');
  if (!Number.isInteger(c) || c < 0 || c >= image.channels) throw new Error(`Channel ${c} does not exist in a ${image.channels}-channel image`);
  const n = image.width * image.height;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = image.data[i * image.channels + c]!;
  return out;
}

/**
 * 'Valid' filtering of a plane with the separable window w x w: output (H-s+1) x (W-s+1),
 * each value the window-weighted sum over the window placed fully inside the image.
 */
function filterValid(plane: Float64Array, width: number, height: number, w: Float64Array): Float64Array {
  const s = w.length;
  const ow = width - s + 1;
  const oh = height - s + 1;
  const rows = new Float64Array(height * ow);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < ow; x++) {
      let acc = 0;
      for (let k = 0; k < s; k++) acc += w[k]! * plane[y * width + x + k]!;
      rows[y * ow + x] = acc;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let acc = 0;
      for (let k = 0; k < s; k++) acc += w[k]! * rows[(y + k) * ow + x]!;
      out[y * ow + x] = acc;
    }
  }
  return out;
}

/**
 * The SSIM map of one channel (Wang, Bovik, Sheikh, Simoncelli 2004): local means, variances and
 * covariance under the window (population moments, as the paper's reference code), only where
 * the window lies fully inside the image ('valid'), so the map is (H-s+1) x (W-s+1).
 * No automatic downsampling (the later ssim.m does that for images over 256 px; papers on small
 * crops and this studio's 64-256 px frames do not).
 */
export function ssimMap(a: Image, b: Image, options: SsimOptions): { map: Float64Array; width: number; height: number } {
  checkPair(a, b);
  if (a.channels !== 1) throw new Error(`SSIM works on one channel; these images have ${a.channels}: use ssimRgbMeanOverChannels or ssimY`);
  checkPeak(options.peak);
  const size = options.windowSize ?? 11;
  if (a.width < size || a.height < size) {
    throw new Error(`SSIM needs images at least ${size}x${size} (the window); got ${a.width}x${a.height}. Use a smaller windowSize or larger images`);
  }
  const w = ssimWindow1d(options.window ?? 'gaussian', size, options.sigma ?? 1.5);
  const c1 = ((options.k1 ?? 0.01) * options.peak) ** 2;
  const c2 = ((options.k2 ?? 0.03) * options.peak) ** 2;
  const pa = channelPlane(a, 0);
  const pb = channelPlane(b, 0);
  const n = pa.length;
  const aa = new Float64Array(n);
  const bb = new Float64Array(n);
  const ab = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    aa[i] = pa[i]! * pa[i]!;
    bb[i] = pb[i]! * pb[i]!;
    ab[i] = pa[i]! * pb[i]!;
  }
  const [muA, muB, eAA, eBB, eAB] = [pa, pb, aa, bb, ab].map((p) => filterValid(p, a.width, a.height, w)) as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  const map = new Float64Array(muA.length);
  for (let i = 0; i < map.length; i++) {
    const ma = muA[i]!;
    const mb = muB[i]!;
    const varA = eAA[i]! - ma * ma;
    const varB = eBB[i]! - mb * mb;
    const cov = eAB[i]! - ma * mb;
    map[i] = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (varA + varB + c2));
  }
  return { map, width: a.width - size + 1, height: a.height - size + 1 };
}

/** Mean SSIM of one channel over the valid region; 1 for identical images. */
export function ssim(a: Image, b: Image, options: SsimOptions): number {
  const { map } = ssimMap(a, b, options);
  let sum = 0;
  for (let i = 0; i < map.length; i++) sum += map[i]!;
  return sum / map.length;
}

/** One channel of an image as a 1-channel image. */
export function channel(image: Image, c: number): Image {
  return { width: image.width, height: image.height, channels: 1, data: channelPlane(image, c) };
}

/**
 * Luma Y of ITU-R BT.601 as SR papers compute it (MATLAB rgb2ycbcr): on the 0-255 scale
 * Y = 16 + (65.481 R + 128.553 G + 24.966 B) with R, G, B in [0, 1], so Y spans [16, 235].
 * The result keeps the input's scale: `peak` 255 (bytes) gives Y in [16, 235], peak 1 gives
 * Y in [16/255, 235/255]. Use the same peak for PSNR/SSIM on it.
 */
export function rgbToY(image: Image, peak: number): Image {
  checkImage(image, 'Image');
  checkPeak(peak);
  if (image.channels !== 3) throw new Error(`rgbToY needs an RGB image (3 channels); got ${image.channels}`);
  const n = image.width * image.height;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = image.data[3 * i]! / peak;
    const g = image.data[3 * i + 1]! / peak;
    const b = image.data[3 * i + 2]! / peak;
    y[i] = ((16 + 65.481 * r + 128.553 * g + 24.966 * b) / 255) * peak;
  }
  return { width: image.width, height: image.height, channels: 1, data: y };
}

/** The image without `border` pixels on every side (SR papers crop the scale factor's width). */
export function cropBorder(image: Image, border: number): Image {
  checkImage(image, 'Image');
  if (!Number.isInteger(border) || border < 0) throw new Error(`border must be a non-negative integer (got ${border})`);
  if (border === 0) return image;
  const width = image.width - 2 * border;
  const height = image.height - 2 * border;
  if (width < 1 || height < 1) throw new Error(`A border of ${border} px leaves nothing of a ${image.width}x${image.height} image`);
  const c = image.channels;
  const out = new Float64Array(width * height * c);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < c; k++) out[(y * width + x) * c + k] = image.data[((y + border) * image.width + x + border) * c + k]!;
    }
  }
  return { width, height, channels: c, data: out };
}

/** PSNR over all three RGB channels together (one MSE over every value), after an optional border crop. */
export function psnrRgb(a: Image, b: Image, peak: number, border = 0): number {
  return psnr(cropBorder(a, border), cropBorder(b, border), peak);
}

/** SSIM computed per channel and averaged over the channels, after an optional border crop. */
export function ssimRgbMeanOverChannels(a: Image, b: Image, options: SsimOptions, border = 0): number {
  checkPair(a, b);
  const ca = cropBorder(a, border);
  const cb = cropBorder(b, border);
  let sum = 0;
  for (let c = 0; c < a.channels; c++) sum += ssim(channel(ca, c), channel(cb, c), options);
  return sum / a.channels;
}

/** PSNR on BT.601 luma Y (the SR convention), after an optional border crop; inputs RGB on the scale `peak`. */
export function psnrY(a: Image, b: Image, peak: number, border = 0): number {
  checkPair(a, b);
  return psnr(cropBorder(rgbToY(a, peak), border), cropBorder(rgbToY(b, peak), border), peak);
}

/** SSIM on BT.601 luma Y (the SR convention), after an optional border crop; inputs RGB on the scale `options.peak`. */
export function ssimY(a: Image, b: Image, options: SsimOptions, border = 0): number {
  checkPair(a, b);
  return ssim(cropBorder(rgbToY(a, options.peak), border), cropBorder(rgbToY(b, options.peak), border), options);
}

/** An RGB byte frame (as the SPEAK renderer and clips give) viewed as an Image. */
export function rgbBytes(data: Uint8Array, width: number, height = width): Image {
  const image = { width, height, channels: 3, data };
  checkImage(image, 'RGB frame');
  return image;
}
