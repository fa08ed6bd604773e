/**
 * Square RGB inputs from images of any size, by torchvision's Resize(size) + CenterCrop(size):
 * the shorter side is scaled to `size` (the longer one to floor(size * long / short)), then
 * the centre size x size is kept. Resampling is PIL's antialiased bilinear: a triangle filter
 * over pixel centres (x + 0.5) that is plain bilinear when enlarging and widens with the
 * scale when shrinking, so strong downscaling averages every source pixel instead of aliasing.
 */

export interface RgbPixels {
  width: number;
  height: number;
  /** `width*height*3` bytes, row-major RGB. */
  data: Uint8Array;
}

/** Size after scaling the shorter side to `size`, as torchvision computes it (the long side truncated). */
export function shorterSideTo(width: number, height: number, size: number): { width: number; height: number } {
  if (width <= height) return { width: size, height: Math.max(size, Math.floor((size * height) / width)) };
  return { width: Math.max(size, Math.floor((size * width) / height)), height: size };
}

/** Python's round(): halves go to the even neighbour, as torchvision's CenterCrop offsets do. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** One output pixel's taps: source pixels `first..first+weights.length-1` and their normalised weights. */
interface Taps {
  first: number;
  weights: Float64Array;
}

/**
 * Taps for outputs `offset..offset+count-1` of an axis scaled from `source` to `scaled` pixels.
 * Weights are normalised over the pixels inside the image, which clamps at the edges.
 */
function axisTaps(source: number, scaled: number, offset: number, count: number): Taps[] {
  const scale = source / scaled;
  const radius = Math.max(scale, 1); // triangle half-width in source pixels
  const taps: Taps[] = [];
  for (let i = offset; i < offset + count; i++) {
    const centre = (i + 0.5) * scale;
    const first = Math.max(0, Math.floor(centre - radius));
    const last = Math.min(source - 1, Math.ceil(centre + radius));
    const weights = new Float64Array(last - first + 1);
    let total = 0;
    for (let x = first; x <= last; x++) {
      const w = Math.max(0, 1 - Math.abs(x + 0.5 - centre) / radius);
      weights[x - first] = w;
      total += w;
    }
    for (let k = 0; k < weights.length; k++) weights[k]! /= total;
    taps.push({ first, weights });
  }
  return taps;
}

/**
 * Resizes an RGB image so its shorter side is `size` and crops the centre `size x size`.
 * Returns `size*size*3` bytes, HWC. An image already `size` on its shorter side is only cropped.
 */
export function resizeAndCenterCrop(image: RgbPixels, size: number): Uint8Array {
  const { width, height, data } = image;
  if (!(Number.isInteger(size) && size > 0)) throw new RangeError(`[resize] size must be a positive integer, got ${size}`);
  if (!(width > 0 && height > 0) || data.length < width * height * 3) {
    throw new RangeError(`[resize] ${width}x${height} RGB needs ${width * height * 3} bytes, got ${data.length}`);
  }
  const scaled = shorterSideTo(width, height, size);
  const top = roundHalfEven((scaled.height - size) / 2);
  const left = roundHalfEven((scaled.width - size) / 2);
  // Only the cropped outputs are computed, so the full resized image is never built.
  const columns = axisTaps(width, scaled.width, left, size);
  const rows = axisTaps(height, scaled.height, top, size);

  // Horizontal pass over just the source rows the vertical pass will touch.
  const rowStart = rows[0]!.first;
  const lastRow = rows[rows.length - 1]!;
  const rowEnd = lastRow.first + lastRow.weights.length;
  const across = new Float64Array((rowEnd - rowStart) * size * 3);
  for (let y = rowStart; y < rowEnd; y++) {
    const src = y * width * 3;
    const dst = (y - rowStart) * size * 3;
    for (let x = 0; x < size; x++) {
      const { first, weights } = columns[x]!;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < weights.length; k++) {
        const w = weights[k]!;
        const p = src + (first + k) * 3;
        r += w * data[p]!;
        g += w * data[p + 1]!;
        b += w * data[p + 2]!;
      }
      across[dst + x * 3] = r;
      across[dst + x * 3 + 1] = g;
      across[dst + x * 3 + 2] = b;
    }
  }

  const out = new Uint8Array(size * size * 3);
  const rowBytes = size * 3;
  for (let y = 0; y < size; y++) {
    const { first, weights } = rows[y]!;
    const base = (first - rowStart) * rowBytes;
    for (let i = 0; i < rowBytes; i++) {
      let v = 0;
      for (let k = 0; k < weights.length; k++) v += weights[k]! * across[base + k * rowBytes + i]!;
      out[y * rowBytes + i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  return out;
}
