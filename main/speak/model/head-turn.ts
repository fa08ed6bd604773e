/**
 * Turning a head in its picture by geometry (posed motion, issue 15): the frame the model renders
 * at the face's own pose is re-projected through the mean 3D head to the requested pose, as a
 * textured mesh is turned and drawn again. Why: the learned dense motion does not render a large
 * turn even from the true landmarks (a 30 degree turn collapsed to about 5 with a smeared face,
 * README, "why an asked turn comes out small"), while the geometry of a turn is known exactly; only
 * the face's depth is missing, and the procedural face model's head supplies it.
 *
 * The mesh is a regular grid over the picture in face-model units: each point gets the depth of
 * the head ellipsoid plus the nose's relief, and turns with the head by a weight that is 1 over the
 * head and fades to 0 over the neck and background (which stay where they are). Its triangles are
 * drawn far to near at the requested pose, each pixel sampling the own-pose frame where the
 * same surface point was: the backward map a bilinear sampler reads.
 */
import { surfaceDepth } from '../corpus/face-model';
import { defaultFraming, project, rotate, rotationMatrix, type HeadPose, type Vec2, type Vec3 } from '../corpus/geometry';
import { inFace, projectAt, type HeadFit } from './rigid-pose';

/** Grid spacing in face units (one unit is half the face's width: ~17 px at 64 px). */
const STEP = 0.08;
/** The grid's half-extent in face units: beyond the picture's edges at the default framing. */
const EXTENT = 2.1;
/** The head region (an ellipse in face units) where points turn fully, and the fade beyond it. */
const HEAD = { cx: 0, cy: -0.25, rx: 1.15, ry: 1.35, fade: 0.35 };
/** The nose's height above the ellipsoid along its ridge (face units, from the face model's relief). */
const NOSE_RIDGE: readonly [number, number][] = [[-0.45, 0], [-0.4, 0.05], [-0.21, 0.12], [-0.02, 0.22], [0.17, 0.32], [0.3, 0.18], [0.4, 0]];
const NOSE_HALF_WIDTH = 0.14;
/** Drawing depth of points that do not turn (neck, background): behind any part of the head. */
const BEHIND = -10;

function noseRelief(x: number, y: number): number {
  for (let i = 1; i < NOSE_RIDGE.length; i++) {
    const [y0, h0] = NOSE_RIDGE[i - 1]!;
    const [y1, h1] = NOSE_RIDGE[i]!;
    if (y >= y0 && y <= y1) return (h0 + ((y - y0) / (y1 - y0)) * (h1 - h0)) * Math.exp(-((x / NOSE_HALF_WIDTH) ** 2));
  }
  return 0;
}

/** How much a point at (x, y) turns with the head: 1 on the head, fading to 0 outside. */
function turnWeight(x: number, y: number): number {
  const e = Math.hypot((x - HEAD.cx) / HEAD.rx, (y - HEAD.cy) / HEAD.ry);
  const t = Math.min(1, Math.max(0, (e - 1) / HEAD.fade));
  return 1 - t * t * (3 - 2 * t);
}

interface Grid {
  points: Vec3[];
  weights: Float32Array;
  side: number;
}

let grid: Grid | undefined;
function meshGrid(): Grid {
  if (grid) return grid;
  const side = Math.round((2 * EXTENT) / STEP) + 1;
  const points: Vec3[] = [];
  const weights = new Float32Array(side * side);
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      const x = -EXTENT + c * STEP, y = -EXTENT + r * STEP;
      points.push([x, y, surfaceDepth(x, y) + noseRelief(x, y)]);
      weights[r * side + c] = turnWeight(x, y);
    }
  }
  grid = { points, weights, side };
  return grid;
}

// A clip holds one pose for many frames (or the whole clip): the last map of each face is kept.
const lastMap = new WeakMap<HeadFit, { pose: HeadPose; map: Float32Array }>();

/**
 * The backward map that turns the fitted face from its own pose to `pose`: for every pixel of the
 * turned frame, where (x, y, pixels) to sample the own-pose frame. [size * size * 2]; read only
 * (the same array comes back for the same face and pose).
 */
export function headTurnMap(fit: HeadFit, pose: HeadPose): Float32Array {
  const last = lastMap.get(fit);
  if (last && last.pose.yaw === pose.yaw && last.pose.pitch === pose.pitch && last.pose.roll === pose.roll) return last.map;
  const map = buildMap(fit, pose);
  lastMap.set(fit, { pose: { ...pose }, map });
  return map;
}

function buildMap(fit: HeadFit, pose: HeadPose): Float32Array {
  const { size } = fit;
  const { points, weights, side } = meshGrid();
  const from = projectAt(points, fit.pose, size).map((p) => inFace(fit, p));
  const m = rotationMatrix(pose);
  const framing = defaultFraming(size);
  const rotated = points.map((p) => rotate(p, m));
  // Where each point lands: turned by its weight, the rest staying; and its depth for drawing order.
  const to: Vec2[] = from.map((p, i) => {
    const w = weights[i]!;
    const turned = inFace(fit, project(rotated[i]!, framing).xy);
    return [p[0] + w * (turned[0] - p[0]), p[1] + w * (turned[1] - p[1])];
  });
  const depth = rotated.map((p, i) => weights[i]! * p[2] + (1 - weights[i]!) * BEHIND);
  const map = new Float32Array(size * size * 2);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) map.set([x, y], (y * size + x) * 2);
  const triangles: [number, number, number, number][] = [];
  for (let r = 0; r + 1 < side; r++) {
    for (let c = 0; c + 1 < side; c++) {
      const i = r * side + c;
      for (const [p, q, s] of [[i, i + 1, i + side], [i + 1, i + side + 1, i + side]] as const) triangles.push([p, q, s, depth[p]! + depth[q]! + depth[s]!]);
    }
  }
  triangles.sort((a, b) => a[3] - b[3]); // far first: nearer surfaces overwrite what they hide
  for (const [p, q, s] of triangles) drawTriangle(map, size, [to[p]!, to[q]!, to[s]!], [from[p]!, from[q]!, from[s]!]);
  return map;
}

/** Fills `map` inside the triangle `to` (pixel centres at integers) with the matching points of `from`. */
function drawTriangle(map: Float32Array, size: number, to: [Vec2, Vec2, Vec2], from: [Vec2, Vec2, Vec2]): void {
  const [[x0, y0], [x1, y1], [x2, y2]] = to;
  const area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0);
  if (Math.abs(area) < 1e-9) return;
  const left = Math.max(0, Math.ceil(Math.min(x0, x1, x2) - 1e-6)), right = Math.min(size - 1, Math.floor(Math.max(x0, x1, x2) + 1e-6));
  const top = Math.max(0, Math.ceil(Math.min(y0, y1, y2) - 1e-6)), bottom = Math.min(size - 1, Math.floor(Math.max(y0, y1, y2) + 1e-6));
  const eps = -1e-6;
  for (let y = top; y <= bottom; y++) {
    for (let x = left; x <= right; x++) {
      const b1 = ((x - x0) * (y2 - y0) - (x2 - x0) * (y - y0)) / area;
      const b2 = ((x1 - x0) * (y - y0) - (x - x0) * (y1 - y0)) / area;
      const b0 = 1 - b1 - b2;
      if (b0 < eps || b1 < eps || b2 < eps) continue;
      const at = (y * size + x) * 2;
      map[at] = b0 * from[0][0] + b1 * from[1][0] + b2 * from[2][0];
      map[at + 1] = b0 * from[0][1] + b1 * from[1][1] + b2 * from[2][1];
    }
  }
}

/** An RGB frame [size * size * 3] sampled bilinearly at `map` (headTurnMap), edges repeated. */
export function sampleFrame(rgb: Uint8Array, size: number, map: Float32Array): Uint8Array {
  const out = new Uint8Array(rgb.length);
  const last = size - 1;
  for (let i = 0; i < size * size; i++) {
    const x = Math.min(last, Math.max(0, map[2 * i]!)), y = Math.min(last, Math.max(0, map[2 * i + 1]!));
    const x0 = Math.floor(x), y0 = Math.floor(y);
    const x1 = Math.min(last, x0 + 1), y1 = Math.min(last, y0 + 1);
    const fx = x - x0, fy = y - y0;
    for (let ch = 0; ch < 3; ch++) {
      const top = rgb[(y0 * size + x0) * 3 + ch]! * (1 - fx) + rgb[(y0 * size + x1) * 3 + ch]! * fx;
      const bottom = rgb[(y1 * size + x0) * 3 + ch]! * (1 - fx) + rgb[(y1 * size + x1) * 3 + ch]! * fx;
      out[i * 3 + ch] = Math.round(top * (1 - fy) + bottom * fy);
    }
  }
  return out;
}
