/**
 * Blinks for generated clips (issue 15's blink-rate slider). No code of the model carries a blink,
 * and its warp does not close an eye whose lids' driving landmarks close (measured on the shipped
 * model: the real landmark model's eye aspect ratio stayed 0.29 with the upper lids moved onto the
 * lower), so a blink is painted over the generated frame: the upper lid, in the skin's colour,
 * coming down over the eye where the warp took the face's eyes (found through its flow).
 */
import { VIDEO_FPS } from '../audio/loudness';
import { blinkTrack } from '../corpus/clip-plan';
import { createRng } from '../../data/random';
import { MAX_BLINKS_PER_MINUTE } from '../../../shared/speak/performance';

/**
 * Eye closure (0 open .. 1 shut) for each of `frames` frames at `blinksPerMinute` on average,
 * placed by `seed` (the generation's noise seed: the same seed blinks at the same times). The
 * blink's shape is the corpus's: closing over 2 frames, opening over 3.
 */
export function blinkSchedule(frames: number, blinksPerMinute: number, seed: number): number[] {
  if (!(blinksPerMinute >= 0 && blinksPerMinute <= MAX_BLINKS_PER_MINUTE)) throw new Error(`Blinks per minute must be from 0 to ${MAX_BLINKS_PER_MINUTE}, got ${String(blinksPerMinute)}`);
  if (blinksPerMinute === 0) return new Array<number>(frames).fill(0);
  const rng = createRng(seed ^ 0x5b1e);
  const gap = 60 / blinksPerMinute;
  // Gaps of 0.6 to 1.4 times the mean; the first blink within the first gap.
  return blinkTrack(frames, rng, VIDEO_FPS, { firstSeconds: () => gap * rng(), gapSeconds: () => gap * (0.6 + 0.8 * rng()) });
}

/**
 * Where a frame's backward flow (normalised source positions per output pixel, [S * S * 2]) took
 * each of the source's landmarks (pixels, [x0, y0, ...]): the output pixel whose flow samples
 * nearest to it (only the eyes' points are searched; the others are returned as given).
 */
export function whereWarpTook(flow: Float32Array, size: number, source: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(source);
  for (const point of EYES.flat()) {
    // Landmarks are continuous pixel coordinates, normalised x * 2 / S - 1 (motion.ts); pixel p's centre is at p + 0.5.
    const fx = (source[2 * point]! * 2) / size - 1, fy = (source[2 * point + 1]! * 2) / size - 1;
    let best = Infinity;
    for (let p = 0; p < size * size; p++) {
      const d = (flow[2 * p]! - fx) ** 2 + (flow[2 * p + 1]! - fy) ** 2;
      if (d < best) {
        best = d;
        out[2 * point] = (p % size) + 0.5;
        out[2 * point + 1] = Math.floor(p / size) + 0.5;
      }
    }
  }
  return out;
}

/** Is (x, y) inside the polygon `points` ([x, y] pairs)? Even-odd rule. */
function inside(points: readonly (readonly [number, number])[], x: number, y: number): boolean {
  let hit = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i]!, [xj, yj] = points[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

const EYES = [[36, 37, 38, 39, 40, 41], [42, 43, 44, 45, 46, 47]] as const;
/** Sub-samples per pixel side when covering the lid: an eye is a few pixels tall at 64 px. */
const SUB = 4;

/**
 * Closes the eyes of a generated frame in place (RGB bytes, `size` px) by `closure` (0..1): the
 * upper lid, in the colour of the skin just above it, comes down over the eye outlined by
 * `landmarks` (the frame's, pixels, [x0, y0, ...]), with a darker line at its edge (the lashes).
 */
export function paintBlink(rgb: Uint8Array, size: number, landmarks: ArrayLike<number>, closure: number): void {
  if (!(closure > 0)) return;
  const at = (i: number): [number, number] => [landmarks[2 * i]!, landmarks[2 * i + 1]!];
  for (const eye of EYES) {
    const outline = eye.map(at);
    const [corner0, upper1, upper2, corner1, lower2, lower1] = outline as [[number, number], [number, number], [number, number], [number, number], [number, number], [number, number]];
    // The lid's edge: the upper lid's line moved toward the lower lid's by the closure.
    const edge = (x: number) => {
      const t = Math.max(0, Math.min(1, (x - corner0[0]) / (corner1[0] - corner0[0] || 1)));
      const upperY = lidY([corner0, upper1, upper2, corner1], t), lowerY = lidY([corner0, lower1, lower2, corner1], t);
      return upperY + (lowerY - upperY) * closure;
    };
    const xs = outline.map((p) => p[0]), ys = outline.map((p) => p[1]);
    const x0 = Math.max(0, Math.floor(Math.min(...xs)) - 1), x1 = Math.min(size - 1, Math.ceil(Math.max(...xs)) + 1);
    const y0 = Math.max(0, Math.floor(Math.min(...ys)) - 1), y1 = Math.min(size - 1, Math.ceil(Math.max(...ys)) + 1);
    const skin = skinAbove(rgb, size, x0, x1, y0);
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        let lid = 0, lash = 0;
        for (let sy = 0; sy < SUB; sy++) {
          for (let sx = 0; sx < SUB; sx++) {
            const px = x + (sx + 0.5) / SUB, py = y + (sy + 0.5) / SUB;
            if (!inside(outline, px, py)) continue;
            const e = edge(px);
            if (py < e) lid++;
            else if (py < e + 0.6) lash++;
          }
        }
        const k = (y * size + x) * 3, a = lid / (SUB * SUB), d = (lash / (SUB * SUB)) * 0.5;
        for (let c = 0; c < 3; c++) rgb[k + c] = Math.round(rgb[k + c]! * (1 - a - d) + skin[c]! * a + skin[c]! * 0.35 * d);
      }
    }
  }
}

/** y of a lid at t (0 at one corner, 1 at the other) through its four points, piecewise linear. */
function lidY(points: [number, number][], t: number): number {
  const span = t * (points.length - 1), i = Math.min(points.length - 2, Math.floor(span)), f = span - i;
  return points[i]![1] + (points[i + 1]![1] - points[i]![1]) * f;
}

/** The mean colour of the row of skin two pixels above the eye's box (clamped to the frame). */
function skinAbove(rgb: Uint8Array, size: number, x0: number, x1: number, y0: number): [number, number, number] {
  const y = Math.max(0, y0 - 2);
  const n = x1 - x0 + 1;
  const mean = (c: number) => {
    let sum = 0;
    for (let x = x0; x <= x1; x++) sum += rgb[(y * size + x) * 3 + c]!;
    return sum / n;
  };
  return [mean(0), mean(1), mean(2)];
}
