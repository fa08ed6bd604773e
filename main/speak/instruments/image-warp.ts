/**
 * Resampling RGB images by an affine map (bilinear): the aligned face crop, and the mirrored,
 * rotated, scaled and shifted photos the instruments are checked with. Coordinates are pixels
 * with y down; pixel k covers [k, k+1), so its centre is k + 0.5.
 */
import type { RgbImage } from '../../data/image-codec';

/** Output pixel centre (u, v) -> source point: x = a u + b v + c, y = d u + e v + f. */
export type Affine = readonly [number, number, number, number, number, number];

export type Rgb = readonly [number, number, number];

/** Samples `image` at toSource(u, v) for every output pixel; points outside the image get `fill`. */
export function warpAffine(image: RgbImage, toSource: Affine, width: number, height: number, fill: Rgb = [0, 0, 0]): RgbImage {
  const { width: w, height: h, data: src } = image;
  const out = new Uint8Array(width * height * 3);
  const [a, b, c, d, e, f] = toSource;
  const at = (x: number, y: number, ch: number) => (x < 0 || y < 0 || x >= w || y >= h ? fill[ch]! : src[(y * w + x) * 3 + ch]!);
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const uc = u + 0.5;
      const vc = v + 0.5;
      // Source position in pixel-index space (centre of pixel k is k).
      const x = a * uc + b * vc + c - 0.5;
      const y = d * uc + e * vc + f - 0.5;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      const o = (v * width + u) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const top = at(x0, y0, ch) * (1 - fx) + at(x0 + 1, y0, ch) * fx;
        const bottom = at(x0, y0 + 1, ch) * (1 - fx) + at(x0 + 1, y0 + 1, ch) * fx;
        out[o + ch] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return { width, height, data: out };
}

/** Left-right mirror image (exact: no resampling). */
export function mirrorImage(image: RgbImage): RgbImage {
  const { width, height, data } = image;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (y * width + x) * 3;
      const to = (y * width + (width - 1 - x)) * 3;
      out[to] = data[from]!;
      out[to + 1] = data[from + 1]!;
      out[to + 2] = data[from + 2]!;
    }
  }
  return { width, height, data: out };
}

export interface Similarity {
  /** Size factor (> 1 enlarges), about the image centre. */
  scale?: number;
  /** Rotation in degrees, clockwise as seen on screen, about the image centre. */
  degrees?: number;
  /** Shift in output pixels, after scaling and rotating. */
  dx?: number;
  dy?: number;
  /** Output size; the input's by default. */
  width?: number;
  height?: number;
  fill?: Rgb;
}

/** Scales, rotates (clockwise) and shifts an image about its centre: p' = c' + s R (p - c) + d. */
export function transformImage(image: RgbImage, { scale = 1, degrees = 0, dx = 0, dy = 0, width = image.width, height = image.height, fill }: Similarity): RgbImage {
  if (!(scale > 0)) throw new Error(`scale must be above 0; got ${scale}`);
  const t = (degrees * Math.PI) / 180;
  const cos = Math.cos(t) / scale;
  const sin = Math.sin(t) / scale;
  const cx = image.width / 2;
  const cy = image.height / 2;
  const ox = width / 2 + dx;
  const oy = height / 2 + dy;
  // Inverse map: p = c + R^T (p' - c' - d) / s, where R (y down) is clockwise on screen.
  return warpAffine(image, [cos, sin, cx - cos * ox - sin * oy, -sin, cos, cy + sin * ox - cos * oy], width, height, fill);
}

/** Bilinear resize to width x height. */
export function resizeImage(image: RgbImage, width: number, height: number): RgbImage {
  const sx = image.width / width;
  const sy = image.height / height;
  return warpAffine(image, [sx, 0, 0, 0, sy, 0], width, height);
}

/** The rectangle x, y, width, height (pixels, clipped to nothing: outside is `fill`). */
export function cropImage(image: RgbImage, x: number, y: number, width: number, height: number, fill?: Rgb): RgbImage {
  return warpAffine(image, [1, 0, x, 0, 1, y], width, height, fill);
}
