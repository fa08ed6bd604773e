/**
 * A tiny supersampled rasteriser: filled polygons (even-odd scanlines at sample centres) with a
 * flat colour or a per-pixel paint, Gaussian soft blobs, and masks for clipping. Drawing happens
 * at `supersample` times the output size in float RGB; `toRgb` box-filters it down, which is the
 * anti-aliasing. Pure and deterministic: the same calls give the same bytes.
 */
import type { Vec2 } from './geometry';
import type { Rgb } from './identity';

/** Per-pixel colour: writes into `out` for output-pixel coordinates (x, y). */
export type Paint = Rgb | ((x: number, y: number, out: Float32Array) => void);

/** One byte per sample: 1 inside. */
export type Mask = Uint8Array;

export class Canvas {
  readonly width: number;
  readonly height: number;
  readonly ss: number;
  private readonly rgb: Float32Array;
  private readonly scratch = new Float32Array(3);
  // Mask buffers are reused from frame to frame (a frame needs about five): less garbage.
  private readonly maskPool: Mask[] = [];
  private masksUsed = 0;

  constructor(size: number, supersample: number, background: Paint) {
    this.ss = supersample;
    this.width = size * supersample;
    this.height = size * supersample;
    this.rgb = new Float32Array(this.width * this.height * 3);
    this.fillSmooth(background);
  }

  /** Start a new picture on this canvas (same size): the background, and every mask handed out before is free again. */
  reset(background: Paint): void {
    this.masksUsed = 0;
    this.fillSmooth(background);
  }

  /** Fill everything with a paint evaluated once per output pixel (for smooth backgrounds). */
  fillSmooth(paint: Paint): void {
    const ss = this.ss, size = this.width / ss, c = this.scratch;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        if (typeof paint === 'function') paint(x + 0.5, y + 0.5, c);
        else c.set(paint);
        for (let j = 0; j < ss; j++) {
          let o = ((y * ss + j) * this.width + x * ss) * 3;
          for (let i = 0; i < ss; i++, o += 3) {
            this.rgb[o] = c[0]!;
            this.rgb[o + 1] = c[1]!;
            this.rgb[o + 2] = c[2]!;
          }
        }
      }
    }
  }

  fillRect(paint: Paint): void {
    for (let y = 0; y < this.height; y++) for (let x = 0; x < this.width; x++) this.blend(x, y, paint, 1);
  }

  private blend(sx: number, sy: number, paint: Paint, alpha: number): void {
    const o = (sy * this.width + sx) * 3;
    let r: number, g: number, b: number;
    if (typeof paint === 'function') {
      paint((sx + 0.5) / this.ss, (sy + 0.5) / this.ss, this.scratch);
      r = this.scratch[0]!; g = this.scratch[1]!; b = this.scratch[2]!;
    } else {
      [r, g, b] = paint;
    }
    const px = this.rgb;
    px[o] = px[o]! + (r - px[o]!) * alpha;
    px[o + 1] = px[o + 1]! + (g - px[o + 1]!) * alpha;
    px[o + 2] = px[o + 2]! + (b - px[o + 2]!) * alpha;
  }

  /** Visit every sample inside the polygon (even-odd rule). */
  private scan(polygon: readonly Vec2[], visit: (sx: number, sy: number) => void): void {
    if (polygon.length < 3) return;
    const ss = this.ss;
    let minY = Infinity, maxY = -Infinity;
    for (const [, y] of polygon) {
      minY = Math.min(minY, y * ss);
      maxY = Math.max(maxY, y * ss);
    }
    const y0 = Math.max(0, Math.floor(minY)), y1 = Math.min(this.height - 1, Math.ceil(maxY));
    const xs: number[] = [];
    for (let sy = y0; sy <= y1; sy++) {
      const cy = sy + 0.5;
      xs.length = 0;
      for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
        const ay = polygon[i]![1] * ss, by = polygon[j]![1] * ss;
        if (ay > cy !== by > cy) {
          const ax = polygon[i]![0] * ss, bx = polygon[j]![0] * ss;
          xs.push(ax + ((cy - ay) / (by - ay)) * (bx - ax));
        }
      }
      xs.sort((a, b) => a - b);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const from = Math.max(0, Math.ceil(xs[k]! - 0.5)), to = Math.min(this.width - 1, Math.floor(xs[k + 1]! - 0.5));
        for (let sx = from; sx <= to; sx++) visit(sx, sy);
      }
    }
  }

  fill(polygon: readonly Vec2[], paint: Paint, alpha = 1, clip?: Mask): void {
    this.scan(polygon, (sx, sy) => {
      if (clip && !clip[sy * this.width + sx]) return;
      this.blend(sx, sy, paint, alpha);
    });
  }

  /** Samples inside the polygon; valid until the next reset. */
  mask(polygon: readonly Vec2[]): Mask {
    let m = this.maskPool[this.masksUsed];
    if (m) m.fill(0);
    else this.maskPool.push((m = new Uint8Array(this.width * this.height)));
    this.masksUsed++;
    this.scan(polygon, (sx, sy) => {
      m[sy * this.width + sx] = 1;
    });
    return m;
  }

  /**
   * A soft elliptical Gaussian: alpha * exp(-d^2 / 2) with d the distance in units of the radii
   * (rx along `angle`, ry across). Cut at 2.6 radii.
   */
  blob(cx: number, cy: number, rx: number, ry: number, angle: number, colour: Rgb, alpha: number, clip?: Mask): void {
    const ss = this.ss;
    const reach = 2.6 * Math.max(rx, ry);
    const x0 = Math.max(0, Math.floor((cx - reach) * ss)), x1 = Math.min(this.width - 1, Math.ceil((cx + reach) * ss));
    const y0 = Math.max(0, Math.floor((cy - reach) * ss)), y1 = Math.min(this.height - 1, Math.ceil((cy + reach) * ss));
    const ca = Math.cos(angle), sa = Math.sin(angle);
    const irx = 1 / Math.max(rx, 1e-3), iry = 1 / Math.max(ry, 1e-3);
    for (let sy = y0; sy <= y1; sy++) {
      for (let sx = x0; sx <= x1; sx++) {
        if (clip && !clip[sy * this.width + sx]) continue;
        const dx = (sx + 0.5) / ss - cx, dy = (sy + 0.5) / ss - cy;
        const u = (dx * ca + dy * sa) * irx, v = (-dx * sa + dy * ca) * iry;
        const d2 = u * u + v * v;
        if (d2 > 6.76) continue;
        this.blend(sx, sy, colour, alpha * Math.exp(-d2 / 2));
      }
    }
  }

  /** Down-sample to the output size as RGB bytes (box filter over the supersamples). */
  toRgb(): Uint8Array {
    const ss = this.ss, size = this.width / ss;
    const out = new Uint8Array(size * size * 3);
    const norm = 1 / (ss * ss);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let r = 0, g = 0, b = 0;
        for (let j = 0; j < ss; j++) {
          let o = ((y * ss + j) * this.width + x * ss) * 3;
          for (let i = 0; i < ss; i++, o += 3) {
            r += this.rgb[o]!;
            g += this.rgb[o + 1]!;
            b += this.rgb[o + 2]!;
          }
        }
        const p = (y * size + x) * 3;
        out[p] = clampByte(r * norm);
        out[p + 1] = clampByte(g * norm);
        out[p + 2] = clampByte(b * norm);
      }
    }
    return out;
  }
}

const clampByte = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/** Catmull-Rom spline through the points (closed or open), `steps` samples per segment. */
export function smoothCurve(points: readonly Vec2[], closed: boolean, steps = 6): Vec2[] {
  const n = points.length;
  if (n < 3) return points.slice();
  const at = (i: number): Vec2 => (closed ? points[((i % n) + n) % n]! : points[Math.max(0, Math.min(n - 1, i))]!);
  const out: Vec2[] = [];
  const segments = closed ? n : n - 1;
  for (let i = 0; i < segments; i++) {
    const p0 = at(i - 1), p1 = at(i), p2 = at(i + 1), p3 = at(i + 2);
    for (let s = 0; s < steps; s++) {
      const t = s / steps, t2 = t * t, t3 = t2 * t;
      const f = (a: number, b: number, c: number, d: number) => 0.5 * (2 * b + (-a + c) * t + (2 * a - 5 * b + 4 * c - d) * t2 + (-a + 3 * b - 3 * c + d) * t3);
      out.push([f(p0[0], p1[0], p2[0], p3[0]), f(p0[1], p1[1], p2[1], p3[1])]);
    }
  }
  if (!closed) out.push(points[n - 1]!);
  return out;
}

/** A polyline thickened into a polygon; `width(t)` gives the full width in pixels along it (t in 0..1). */
export function strokePolygon(line: readonly Vec2[], width: (t: number) => number): Vec2[] {
  const left: Vec2[] = [], right: Vec2[] = [];
  const n = line.length;
  for (let i = 0; i < n; i++) {
    const a = line[Math.max(0, i - 1)]!, b = line[Math.min(n - 1, i + 1)]!;
    let dx = b[0] - a[0], dy = b[1] - a[1];
    const len = Math.hypot(dx, dy) || 1;
    dx /= len;
    dy /= len;
    const w = width(n === 1 ? 0 : i / (n - 1)) / 2;
    left.push([line[i]![0] - dy * w, line[i]![1] + dx * w]);
    right.push([line[i]![0] + dy * w, line[i]![1] - dx * w]);
  }
  return [...left, ...right.reverse()];
}

/** Convex hull (Andrew's monotone chain), counter-clockwise. */
export function convexHull(points: readonly Vec2[]): Vec2[] {
  const pts = points.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length < 3) return pts;
  const cross = (o: Vec2, a: Vec2, b: Vec2) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Vec2[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Vec2[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) upper.pop();
    upper.push(p);
  }
  upper.pop();
  lower.pop();
  return lower.concat(upper);
}

/** A circle (or ellipse) as a polygon. */
export function ellipsePolygon(cx: number, cy: number, rx: number, ry: number, angle = 0, steps = 40): Vec2[] {
  const out: Vec2[] = [];
  const ca = Math.cos(angle), sa = Math.sin(angle);
  for (let i = 0; i < steps; i++) {
    const t = (2 * Math.PI * i) / steps;
    const x = Math.cos(t) * rx, y = Math.sin(t) * ry;
    out.push([cx + x * ca - y * sa, cy + x * sa + y * ca]);
  }
  return out;
}
