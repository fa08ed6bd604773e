/**
 * Paints a face from its posed, projected 3D model: background, hair, neck and shoulders, ears,
 * a Lambert-shaded head, then the features drawn from the 68 landmarks themselves (so the
 * ground-truth points are where the eyes, brows, nose, lips and jaw are drawn).
 */
import { buildFace, type Face3d, type FaceState } from './face-model';
import { defaultFraming, project, rotate, rotationMatrix, type Framing, type HeadPose, type Vec2, type Vec3 } from './geometry';
import type { Identity, Rgb } from './identity';
import { Canvas, convexHull, ellipsePolygon, smoothCurve, strokePolygon, type Mask, type Paint } from './raster';

export interface RenderOptions {
  /** Image side in pixels, 64..256. */
  size: number;
  /** Samples per pixel side for anti-aliasing [3]. */
  supersample?: number;
  framing?: Framing;
}

export interface RenderedFace {
  size: number;
  /** RGB bytes, row-major, size * size * 3. */
  rgb: Uint8Array;
  /**
   * The 68 iBUG landmarks in continuous pixel coordinates: (0, 0) is the image's top-left corner,
   * pixel (i, j) covers [i, i+1) x [j, j+1). Projected 3D points (a turned face's far jaw
   * points are where the 3D jaw is, not on the visible silhouette).
   */
  landmarks: Vec2[];
  pose: HeadPose;
}

export const MIN_SIZE = 64;
export const MAX_SIZE = 256;

// Light from the viewer's upper left, towards the face.
const LIGHT: Vec3 = normalise([-0.45, -0.55, 0.7]);

function normalise(v: Vec3): Vec3 {
  const n = Math.hypot(v[0], v[1], v[2]);
  return [v[0] / n, v[1] / n, v[2] / n];
}

const scale = (c: Rgb, k: number): Rgb => [c[0] * k, c[1] * k, c[2] * k];
const mix = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
const mid = (a: Vec2, b: Vec2, t = 0.5): Vec2 => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];

/** Deterministic value noise in 0..1 (hash of the integer lattice, smoothly interpolated). */
function noise(x: number, y: number): number {
  const xi = Math.floor(x), yi = Math.floor(y);
  const fx = x - xi, fy = y - yi;
  const h = (i: number, j: number) => {
    let n = Math.imul(i, 374761393) + Math.imul(j, 668265263);
    n = Math.imul(n ^ (n >>> 13), 1274126177);
    return ((n ^ (n >>> 16)) >>> 0) / 4294967296;
  };
  const sx = fx * fx * (3 - 2 * fx), sy = fy * fy * (3 - 2 * fy);
  const a = h(xi, yi) + (h(xi + 1, yi) - h(xi, yi)) * sx;
  const b = h(xi, yi + 1) + (h(xi + 1, yi + 1) - h(xi, yi + 1)) * sx;
  return a + (b - a) * sy;
}

/** Lambert shading over an ellipse standing in for a rounded surface (head, hair, shoulders). */
function roundShade(cx: number, cy: number, rx: number, ry: number, x: number, y: number, ambient: number): number {
  const nx = (x - cx) / rx, ny = (y - cy) / ry;
  const nz = Math.sqrt(Math.max(0.02, 1 - Math.min(1, nx * nx + ny * ny)));
  const d = nx * LIGHT[0] + ny * LIGHT[1] + nz * LIGHT[2];
  return ambient + (1 - ambient) * Math.max(0, d) / LIGHT[2];
}

function bounds(points: readonly Vec2[]): { cx: number; cy: number; rx: number; ry: number } {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const [x, y] of points) {
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, rx: Math.max(1, (x1 - x0) / 2), ry: Math.max(1, (y1 - y0) / 2) };
}

/** Render one frame. Throws on a size outside 64..256. */
export function renderFace(identity: Identity, state: FaceState, options: RenderOptions): RenderedFace {
  const { size } = options;
  if (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE) throw new Error(`Face size must be an integer from ${MIN_SIZE} to ${MAX_SIZE} pixels (got ${size}).`);
  const framing = options.framing ?? defaultFraming(size);
  const face = buildFace(identity, state);
  const canvas = canvasFor(size, options.supersample ?? 3, backgroundPaint(identity.colour.background, size));
  const landmarks = drawFace(canvas, identity, state, face, framing);
  return { size, rgb: canvas.toRgb(), landmarks, pose: { ...state.pose } };
}

// One canvas per (size, supersample), reused: frames are rendered one after another.
const canvases = new Map<string, Canvas>();
function canvasFor(size: number, supersample: number, background: Paint): Canvas {
  const key = `${size}x${supersample}`;
  const existing = canvases.get(key);
  if (existing) {
    existing.reset(background);
    return existing;
  }
  const canvas = new Canvas(size, supersample, background);
  canvases.set(key, canvas);
  return canvas;
}

/** The 68 landmarks in pixels for a state, without painting (the same points renderFace returns). */
export function faceLandmarks(identity: Identity, state: FaceState, size: number, framing: Framing = defaultFraming(size)): Vec2[] {
  const m = rotationMatrix(state.pose);
  return buildFace(identity, state).landmarks.map((p) => project(rotate(p, m), framing).xy);
}

function backgroundPaint(bg: Rgb, size: number): Paint {
  return (x, y, out) => {
    const t = y / size;
    const r = Math.hypot(x / size - 0.35, y / size - 0.3);
    const k = 1.08 - 0.22 * t - 0.18 * r;
    out[0] = bg[0] * k;
    out[1] = bg[1] * k;
    out[2] = bg[2] * k;
  };
}

function drawFace(canvas: Canvas, identity: Identity, state: FaceState, face: Face3d, framing: Framing): Vec2[] {
  const m = rotationMatrix(state.pose);
  // The body follows the head only partly.
  const body = rotationMatrix({ yaw: state.pose.yaw * 0.25, pitch: 0, roll: state.pose.roll * 0.3 });
  const P = (p: Vec3): Vec2 => project(rotate(p, m), framing).xy;
  const PB = (p: Vec3): Vec2 => project(rotate(p, body), framing).xy;
  const unit = framing.halfWidth * framing.size;
  const lm = face.landmarks.map(P);
  const { skin, hair: hairColour, lips, iris: irisColour, brows: browColour, clothes } = identity.colour;

  // Hair behind the head.
  const hairPts = face.hair.map(P);
  const hairHull = hairPts.length ? convexHull([...hairPts, ...face.hairline.map(P)]) : [];
  const hb = bounds(hairHull.length ? hairHull : lm);
  const hairPaint = (shadow: number): Paint => (x, y, out) => {
    const angle = Math.atan2(y - hb.cy, x - hb.cx);
    const strands = 0.5 + 0.5 * Math.sin(angle * 90 + 6 * noise(x * 0.12, y * 0.12));
    const k = shadow * roundShade(hb.cx, hb.cy - hb.ry * 0.2, hb.rx, hb.ry, x, y, 0.45) * (0.86 + 0.1 * strands + 0.08 * noise(x * 0.7, y * 0.7));
    out[0] = hairColour[0] * k + 6;
    out[1] = hairColour[1] * k + 5;
    out[2] = hairColour[2] * k + 4;
  };
  if (hairHull.length) canvas.fill(hairHull, hairPaint(0.7));

  // Neck and shoulders.
  const neck = face.neck.map(PB);
  canvas.fill(neck, (_x, y, out) => {
    const k = 0.72 + 0.12 * Math.min(1, Math.max(0, (y - neck[0]![1]) / (unit * 1.2)));
    out[0] = skin[0] * k; out[1] = skin[1] * k; out[2] = skin[2] * k;
  });
  const shoulders: Vec3[] = [[-2.8, 3.4, -0.6], [-2.6, 2.1, -0.6], [-1.9, 1.72, -0.6], [-0.62, 1.52, -0.55], [-0.3, 1.78, -0.5], [0, 1.86, -0.5], [0.3, 1.78, -0.5], [0.62, 1.52, -0.55], [1.9, 1.72, -0.6], [2.6, 2.1, -0.6], [2.8, 3.4, -0.6]];
  const sh = smoothCurve(shoulders.map(PB), true, 4);
  const sb = bounds(sh);
  canvas.fill(sh, (x, y, out) => {
    const k = roundShade(sb.cx, sb.cy + sb.ry * 0.3, sb.rx, sb.ry * 1.2, x, y, 0.5) * (0.95 + 0.05 * noise(x * 0.3, y * 0.3));
    out[0] = clothes[0] * k; out[1] = clothes[1] * k; out[2] = clothes[2] * k;
  });
  // Shadow under the chin on the neck.
  const chin = lm[8]!;
  canvas.blob(chin[0], chin[1] + 0.12 * unit, 0.42 * unit, 0.12 * unit, 0, scale(skin, 0.45), 0.55);

  // Ears (the far one ends up hidden behind the head).
  for (const ear of face.ears) {
    const c = P(ear);
    const r = project(rotate(ear, m), framing).scale;
    const turn = Math.abs(Math.sin((state.pose.yaw * Math.PI) / 180));
    const rx = r * (0.12 + 0.1 * turn), ry = r * 0.26;
    const angle = (state.pose.roll * Math.PI) / 180;
    canvas.fill(ellipsePolygon(c[0], c[1], rx, ry, angle, 24), scale(skin, 0.86));
    canvas.blob(c[0], c[1], rx * 0.45, ry * 0.55, angle, scale(skin, 0.55), 0.5);
  }

  // The head: silhouette hull of the dome and the jaw, Lambert shaded, warm in the shadows.
  const headHull = convexHull([...face.head.map(P), ...lm.slice(0, 17)]);
  const head = bounds(headHull);
  const headMask = canvas.mask(headHull);
  // Darker skin is shaded less deeply (as a photographer would expose for it).
  const darkness = 1 - (0.299 * skin[0] + 0.587 * skin[1] + 0.114 * skin[2]) / 255;
  const warm: Rgb = [skin[0] * 0.9 + 6, skin[1] * 0.78, skin[2] * 0.74];
  const skinPaint: Paint = (x, y, out) => {
    const k = roundShade(head.cx, head.cy + head.ry * 0.1, head.rx * 1.05, head.ry * 1.05, x, y, 0.5 + 0.15 * darkness);
    const t = 0.6 * Math.min(1, Math.max(0, 1 - k));
    const g = k * (0.985 + 0.03 * noise(x * 0.9, y * 0.9));
    out[0] = (skin[0] + (warm[0] - skin[0]) * t) * g;
    out[1] = (skin[1] + (warm[1] - skin[1]) * t) * g;
    out[2] = (skin[2] + (warm[2] - skin[2]) * t) * g;
  };
  canvas.fill(headHull, skinPaint);
  // Jaw line: darker just inside the lower contour.
  const jaw = smoothCurve(lm.slice(0, 17), false, 4);
  canvas.fill(strokePolygon(jaw, (t) => unit * (0.06 + 0.05 * Math.sin(Math.PI * t))), scale(skin, 0.7), 0.25, headMask);

  const skinDark = scale(skin, 0.55);
  // Sheen: skin reflects a little light on the forehead, nose, cheekbones and chin; it shows
  // most on darker skin, and gives the detector the highlights real photos have.
  const sheen = 0.08 + 0.4 * darkness;
  const sheenColour: Rgb = [255, 244, 232];
  const bridge = mid(lm[27]!, lm[30]!, 0.55);
  canvas.blob(bridge[0] - 0.02 * unit, bridge[1], 0.035 * unit, 0.16 * unit, Math.atan2(lm[30]![1] - lm[27]![1], lm[30]![0] - lm[27]![0]) - Math.PI / 2, sheenColour, sheen, headMask);
  canvas.blob(lm[30]![0] - 0.02 * unit, lm[30]![1] - 0.01 * unit, 0.05 * unit, 0.04 * unit, 0, sheenColour, sheen * 1.2, headMask);
  const brow = mid(lm[19]!, lm[24]!);
  canvas.blob(brow[0] - 0.12 * unit, brow[1] - 0.28 * unit, 0.3 * unit, 0.12 * unit, 0, sheenColour, sheen * 0.8, headMask);
  for (const [a, b] of [[41, 2], [46, 14]] as const) {
    const c = mid(lm[a]!, lm[b]!, 0.35);
    canvas.blob(c[0], c[1] + 0.04 * unit, 0.12 * unit, 0.05 * unit, -0.3, sheenColour, sheen * (a === 41 ? 0.8 : 0.4), headMask);
  }
  canvas.blob(lm[8]![0] - 0.03 * unit, lm[8]![1] - 0.12 * unit, 0.1 * unit, 0.05 * unit, 0, sheenColour, sheen * 0.6, headMask);
  const eyeCentres: Vec2[] = [mid(lm[36]!, lm[39]!), mid(lm[42]!, lm[45]!)];
  // Forehead and cheekbone highlights, eye sockets, cheeks.
  const browMid = mid(lm[21]!, lm[22]!);
  canvas.blob(browMid[0] - 0.1 * unit, browMid[1] - 0.35 * unit, 0.4 * unit, 0.2 * unit, 0, [255, 250, 245], 0.12, headMask);
  for (const [eye, brow] of [[0, 19], [1, 24]] as const) {
    const c = mid(eyeCentres[eye]!, lm[brow]!, 0.35);
    canvas.blob(c[0], c[1], 0.27 * unit, 0.13 * unit, 0, skinDark, 0.32, headMask);
    const cheek = mid(lm[eye === 0 ? 41 : 46]!, lm[eye === 0 ? 2 : 14]!, 0.45);
    canvas.blob(cheek[0], cheek[1] + 0.15 * unit, 0.2 * unit, 0.15 * unit, 0, [210, 90, 90], 0.1, headMask);
    canvas.blob(cheek[0], cheek[1] - 0.02 * unit, 0.18 * unit, 0.07 * unit, 0, [255, 245, 235], eye === 0 ? 0.12 : 0.05, headMask);
  }

  // Beard shadow (before the mouth so the lips stay on top).
  if (identity.beard > 0) {
    // Stubble: soft dark patches along the lower jaw, the chin and above the upper lip.
    const stubble = scale(hairColour, 0.8);
    for (let i = 4; i <= 12; i++) {
      const p = mid(lm[i]!, lm[i < 8 ? 48 : i > 8 ? 54 : 57]!, 0.3);
      canvas.blob(p[0], p[1], 0.13 * unit, 0.11 * unit, 0, stubble, identity.beard * 0.35, headMask);
    }
    const lip = mid(lm[33]!, lm[51]!);
    canvas.blob(lip[0], lip[1], 0.24 * unit, 0.05 * unit, 0, stubble, identity.beard * 0.45, headMask);
  }

  drawNose(canvas, lm, skin, unit, headMask);
  drawMouth(canvas, lm, skin, lips, unit, state, headMask);
  for (const side of [0, 1] as const) drawEye(canvas, lm, side, P(face.irises[side]), face.irisRadius * unit * Math.cos((state.pose.yaw * Math.PI) / 180) ** 0.5, irisColour, skin, browColour, unit);
  drawBrows(canvas, lm, browColour, skin, unit, identity.shape.browThickness);

  // Hair over the forehead: the hair outline above the hairline.
  if (hairHull.length) {
    const line = face.hairline;
    const first = line[0]!, last = line[line.length - 1]!;
    const above: Vec3[] = [...line, [last[0] + 0.8, last[1] + 0.05, last[2]], [last[0] + 0.8, -4, -0.45], [first[0] - 0.8, -4, -0.45], [first[0] - 0.8, first[1] + 0.05, first[2]]];
    const hairlinePoly = smoothCurve(above.map(P), true, 3);
    const capMask = canvas.mask(hairlinePoly);
    canvas.fill(hairHull, hairPaint(1), 1, capMask);
    // Soft edge where the hair meets the forehead.
    canvas.fill(strokePolygon(smoothCurve(line.map(P), false, 3), () => 0.05 * unit), scale(hairColour, 0.9), 0.35, headMask);
  }
  return lm;
}

function drawNose(canvas: Canvas, lm: Vec2[], skin: Rgb, unit: number, clip: Mask): void {
  const dark = scale(skin, 0.5);
  // Bridge shadow on the side away from the light (the image-right side).
  const [top, tip] = [lm[27]!, lm[30]!];
  const dx = tip[0] - top[0], dy = tip[1] - top[1];
  const len = Math.hypot(dx, dy) || 1;
  const nx = -dy / len, ny = dx / len; // points to the image-left for a vertical nose; flip to the right
  const side = (t: number, off: number): Vec2 => [top[0] + dx * t - nx * off * unit, top[1] + dy * t - ny * off * unit];
  // Soft blobs rather than lines: a nose has no outline, only shading.
  const angle = Math.atan2(dy, dx);
  for (const t of [0.15, 0.35, 0.55, 0.75, 0.92]) {
    const c = side(t, 0.075 + 0.04 * t);
    canvas.blob(c[0], c[1], 0.07 * unit, 0.035 * unit + 0.02 * unit * t, angle, dark, 0.16, clip);
  }
  for (const t of [0.2, 0.45, 0.7]) {
    const c = side(t, -0.045);
    canvas.blob(c[0], c[1], 0.06 * unit, 0.025 * unit, angle, scale(skin, 1.15), 0.14, clip);
  }
  // Tip highlight, under-nose shadow, wings, nostrils.
  canvas.blob(tip[0] - 0.02 * unit, tip[1] + 0.02 * unit, 0.07 * unit, 0.06 * unit, 0, [255, 248, 240], 0.3, clip);
  const base = lm[33]!;
  canvas.blob(base[0] + 0.02 * unit, base[1] + 0.07 * unit, 0.2 * unit, 0.045 * unit, 0, dark, 0.35, clip);
  const ang = Math.atan2(lm[35]![1] - lm[31]![1], lm[35]![0] - lm[31]![0]);
  for (const [wing, inner, sign] of [[31, 32, -1], [35, 34, 1]] as const) {
    const w = lm[wing]!, n = lm[inner]!;
    const crease = smoothCurve([[w[0] - sign * 0.01 * unit, w[1] - 0.1 * unit], [w[0] + sign * 0.03 * unit, w[1] - 0.03 * unit], [w[0] + sign * 0.01 * unit, w[1] + 0.03 * unit], mid(w, n, 0.6)], false, 4);
    canvas.fill(strokePolygon(crease, (t) => 0.03 * unit * Math.sin(Math.PI * t)), dark, 0.25, clip);
    const nostril = mid(w, n, 0.55);
    canvas.fill(ellipsePolygon(nostril[0], nostril[1] - 0.005 * unit, 0.045 * unit, 0.022 * unit, ang + sign * 0.3, 20), scale(skin, 0.28), 0.85);
  }
}

function drawMouth(canvas: Canvas, lm: Vec2[], skin: Rgb, lips: Rgb, unit: number, state: FaceState, clip: Mask): void {
  const outer = smoothCurve(lm.slice(48, 60), true, 5);
  const innerPts = lm.slice(60, 68);
  const inner = smoothCurve(innerPts, true, 5);
  // Nasolabial folds, deeper when smiling.
  const smile = state.emotion === 'happy' ? state.intensity : 0;
  for (const [wing, corner, sign] of [[31, 48, -1], [35, 54, 1]] as const) {
    const w = lm[wing]!, c = lm[corner]!;
    const fold = smoothCurve([[w[0] + sign * 0.06 * unit, w[1] - 0.03 * unit], [mid(w, c)[0] + sign * 0.1 * unit, mid(w, c)[1]], [c[0] + sign * 0.08 * unit, c[1] + 0.08 * unit]], false, 5);
    canvas.fill(strokePolygon(fold, (t) => unit * 0.035 * Math.sin(Math.PI * Math.min(1, t * 1.2))), scale(skin, 0.6), 0.18 + 0.3 * smile, clip);
  }
  // Shadow under the lower lip, highlight on the chin.
  const low = lm[57]!;
  canvas.blob(low[0], low[1] + 0.06 * unit, 0.17 * unit, 0.04 * unit, 0, scale(skin, 0.55), 0.35, clip);
  canvas.blob(lm[8]![0], lm[8]![1] - 0.14 * unit, 0.14 * unit, 0.08 * unit, 0, [255, 248, 240], 0.1, clip);
  // Lips: the upper lip a little darker (it faces down, away from the light).
  const lb = bounds(outer);
  canvas.fill(outer, (x, y, out) => {
    const upper = y < lb.cy ? 0.84 : 1;
    const k = upper * (0.9 + 0.1 * noise(x * 0.8, y * 2.5));
    out[0] = lips[0] * k; out[1] = lips[1] * k; out[2] = lips[2] * k;
  });
  canvas.fill(strokePolygon(outer.concat([outer[0]!]), () => 0.018 * unit), scale(lips, 0.75), 0.3);
  const lowerMid = mid(lm[57]!, lm[66]!);
  canvas.blob(lowerMid[0] - 0.03 * unit, lowerMid[1], 0.1 * unit, 0.022 * unit, 0, [255, 235, 230], 0.25);
  // Inner mouth, teeth, tongue.
  const gap = Math.hypot(lm[66]![0] - lm[62]![0], lm[66]![1] - lm[62]![1]);
  if (gap > 0.012 * unit) {
    const mouthMask = canvas.mask(inner);
    canvas.fill(inner, [58, 18, 24]);
    const upperInner = smoothCurve([lm[60]!, lm[61]!, lm[62]!, lm[63]!, lm[64]!], false, 5);
    const teethH = 0.07 * unit;
    const teeth = [...upperInner, ...upperInner.slice().reverse().map(([x, y]) => [x, y + teethH] as Vec2)];
    const tb = bounds(upperInner);
    canvas.fill(teeth, (x, _y, out) => {
      const k = 1 - 0.45 * ((x - tb.cx) / tb.rx) ** 2;
      out[0] = 236 * k; out[1] = 232 * k; out[2] = 222 * k;
    }, 1, mouthMask);
    const lowerInner = smoothCurve([lm[64]!, lm[65]!, lm[66]!, lm[67]!, lm[60]!], false, 5);
    const lowerTeeth = [...lowerInner, ...lowerInner.slice().reverse().map(([x, y]) => [x, y - 0.04 * unit] as Vec2)];
    canvas.fill(lowerTeeth, [200, 196, 188], 0.7, mouthMask);
    const tongue = mid(lm[66]!, lm[62]!, 0.25);
    canvas.blob(tongue[0], tongue[1], 0.12 * unit, 0.05 * unit, 0, [160, 70, 78], 0.8, mouthMask);
  }
  // The lip seam, strongest when the mouth is closed.
  const seam = smoothCurve([lm[60]!, mid(lm[61]!, lm[67]!), mid(lm[62]!, lm[66]!), mid(lm[63]!, lm[65]!), lm[64]!], false, 5);
  const closed = Math.max(0, 1 - gap / (0.04 * unit));
  canvas.fill(strokePolygon(seam, (t) => unit * 0.025 * (0.6 + 0.4 * Math.sin(Math.PI * t))), scale(lips, 0.35), 0.8 * closed);
  // Mouth corners.
  for (const c of [lm[48]!, lm[54]!]) canvas.blob(c[0], c[1], 0.03 * unit, 0.02 * unit, 0, scale(skin, 0.45), 0.45);
}

function drawEye(canvas: Canvas, lm: Vec2[], side: 0 | 1, iris: Vec2, irisR: number, irisColour: Rgb, skin: Rgb, lashColour: Rgb, unit: number): void {
  const ids = side === 0 ? [36, 37, 38, 39, 40, 41] : [42, 43, 44, 45, 46, 47];
  const pts = ids.map((i) => lm[i]!);
  const opening = smoothCurve(pts, true, 6);
  const outerCorner = side === 0 ? pts[0]! : pts[3]!;
  const innerCorner = side === 0 ? pts[3]! : pts[0]!;
  const eyeW = Math.hypot(pts[3]![0] - pts[0]![0], pts[3]![1] - pts[0]![1]);
  const upperLid = smoothCurve(pts.slice(0, 4), false, 6);
  const lowerLid = smoothCurve([pts[3]!, pts[4]!, pts[5]!, pts[0]!], false, 6);
  // Lid crease above the opening.
  const crease = upperLid.map(([x, y]) => [x, y - 0.055 * unit] as Vec2);
  canvas.fill(strokePolygon(crease, (t) => unit * 0.022 * Math.sin(Math.PI * t)), scale(skin, 0.6), 0.4);
  const openH = Math.hypot(mid(pts[1]!, pts[2]!)[0] - mid(pts[4]!, pts[5]!)[0], mid(pts[1]!, pts[2]!)[1] - mid(pts[4]!, pts[5]!)[1]);
  if (openH > 0.01 * unit) {
    const eyeMask = canvas.mask(opening);
    const ec = mid(pts[0]!, pts[3]!);
    canvas.fill(opening, (x, y, out) => {
      const d = Math.hypot(x - ec[0], y - ec[1]) / (eyeW / 2);
      const k = 0.95 - 0.25 * d * d;
      out[0] = 236 * k; out[1] = 230 * k; out[2] = 226 * k;
    });
    canvas.blob(innerCorner[0], innerCorner[1], 0.035 * unit, 0.025 * unit, 0, [200, 110, 110], 0.5, eyeMask);
    canvas.blob(outerCorner[0], outerCorner[1], 0.06 * unit, 0.04 * unit, 0, scale(skin, 0.5), 0.4, eyeMask);
    // Iris: darker limbal ring, radial fibres; then the pupil and a catchlight.
    canvas.fill(ellipsePolygon(iris[0], iris[1], irisR, irisR, 0, 32), (x, y, out) => {
      const dx = x - iris[0], dy = y - iris[1];
      const r = Math.hypot(dx, dy) / irisR;
      const fibres = 0.85 + 0.15 * Math.sin(Math.atan2(dy, dx) * 23);
      const k = (r > 0.8 ? 0.55 : 1.0 - 0.2 * r) * fibres;
      out[0] = irisColour[0] * k; out[1] = irisColour[1] * k; out[2] = irisColour[2] * k;
    }, 1, eyeMask);
    canvas.fill(ellipsePolygon(iris[0], iris[1], irisR * 0.42, irisR * 0.42, 0, 24), [12, 10, 10], 1, eyeMask);
    canvas.blob(iris[0] - 0.35 * irisR, iris[1] - 0.35 * irisR, 0.14 * irisR, 0.14 * irisR, 0, [255, 255, 255], 0.9, eyeMask);
    // The upper lid casts a shadow on the eyeball.
    const top = mid(pts[1]!, pts[2]!);
    canvas.blob(top[0], top[1], 0.22 * unit, 0.05 * unit, 0, [40, 30, 30], 0.45, eyeMask);
  }
  // Lash line on the upper lid (thicker at the outer corner), a faint lower lid line.
  const outerFirst = side === 0;
  canvas.fill(strokePolygon(upperLid, (t) => unit * (0.014 + 0.028 * (outerFirst ? 1 - t : t) ** 1.5)), scale(lashColour, 0.45), 0.92);
  canvas.fill(strokePolygon(lowerLid, (t) => unit * 0.014 * Math.sin(Math.PI * t)), scale(skin, 0.55), 0.45);
}

function drawBrows(canvas: Canvas, lm: Vec2[], colour: Rgb, skin: Rgb, unit: number, thickness: number): void {
  for (const ids of [[17, 18, 19, 20, 21], [26, 25, 24, 23, 22]]) {
    // From the outer end to the inner end: thicker towards the inner end.
    const line = smoothCurve(ids.map((i) => lm[i]!), false, 5);
    const w = 1 + 0.3 * thickness;
    canvas.fill(strokePolygon(line, (t) => unit * w * (0.04 + 0.05 * Math.sin(Math.PI * (0.2 + 0.7 * t)))), mix(colour, skin, 0.5), 0.45);
    canvas.fill(strokePolygon(line, (t) => unit * w * (0.025 + 0.045 * Math.sin(Math.PI * (0.15 + 0.65 * t)))), (x, y, out) => {
      const k = 0.8 + 0.3 * noise(x * 2.2, y * 0.7);
      out[0] = colour[0] * k; out[1] = colour[1] * k; out[2] = colour[2] * k;
    }, 0.9);
  }
}
