/**
 * A face's head pose read against the mean 3D face (posed motion, issue 14/15), so its picture can
 * be turned by geometry (./head-turn.ts), as LivePortrait and SadTalker turn their 3D keypoints by
 * a rotation matrix. Why: the motion head regresses the whole landmark set from IRFD's pose code,
 * which carries the pose only roughly, so it predicts about 40% of a turn (a requested 20 degree
 * yaw moved the nose as a 7 degree one; the real face mesh read 8 degrees on the frame). The slider
 * pose is known exactly; only the face's depth is missing, and the procedural face model's mean
 * face supplies it.
 *
 * `fitHeadPose` finds the pose whose projection of the mean face best matches the face's rigid
 * points (brows, nose, eyes) under a 2D similarity, which then places any model-space point,
 * projected at any pose, in the face's picture (`inFace`).
 */
import { NEUTRAL_STATE, buildFace } from '../corpus/face-model';
import { defaultFraming, project, rotate, rotationMatrix, type HeadPose, type Vec2, type Vec3 } from '../corpus/geometry';
import { makeIdentities } from '../corpus/identity';

/** The mean procedural face (32 people of seed 0) in model space: the depth the 2D landmarks lack. Built on first use. */
let meanFace: Vec3[] | undefined;
function meanFaceLandmarks(): Vec3[] {
  if (!meanFace) {
    const faces = makeIdentities(32, 0).map((identity) => buildFace(identity, NEUTRAL_STATE).landmarks);
    meanFace = faces[0]!.map((_, i) => [0, 1, 2].map((axis) => faces.reduce((sum, face) => sum + face[i]![axis]!, 0) / faces.length) as Vec3);
  }
  return meanFace;
}

/** Points that move with the head only (brows, nose, eyes): the jaw and lips move with speech. */
const RIGID_POINTS = Array.from({ length: 31 }, (_, i) => 17 + i);
/** The fit's search: yaw in whole degrees within +-SEARCH, then tenths around the best. */
const SEARCH = 45;

export interface HeadFit {
  /** The face's own pose, degrees (the corpus renderer's convention, geometry.ts). */
  pose: HeadPose;
  /** The 2D similarity from the mean face's projection (at `pose`) to the face: z -> a z + b, complex numbers as [re, im]. */
  a: Vec2;
  b: Vec2;
  size: number;
}

/** Model-space points at a pose, projected at the default framing of `size` px (turned about the neck, as the renderer turns a head). */
export function projectAt(points: readonly Vec3[], pose: HeadPose, size: number): Vec2[] {
  const m = rotationMatrix(pose);
  const framing = defaultFraming(size);
  return points.map((p) => project(rotate(p, m), framing).xy);
}

const meanFaceAt = (pose: HeadPose, size: number): Vec2[] => projectAt(meanFaceLandmarks(), pose, size);

const times = (p: Vec2, q: Vec2): Vec2 => [p[0] * q[0] - p[1] * q[1], p[0] * q[1] + p[1] * q[0]];

/** A projected point placed in the fitted face's image (the fit's similarity). */
export function inFace(fit: HeadFit, p: Vec2): Vec2 {
  const z = times(fit.a, p);
  return [z[0] + fit.b[0], z[1] + fit.b[1]];
}

/** Least-squares z -> a z + b from `from` to `to` over `points` (complex Procrustes), and its squared residual. */
function similarity(from: Vec2[], to: ArrayLike<number>, points: readonly number[]): { a: Vec2; b: Vec2; residual: number } {
  let fx = 0, fy = 0, tx = 0, ty = 0;
  for (const i of points) (fx += from[i]![0]), (fy += from[i]![1]), (tx += to[2 * i]!), (ty += to[2 * i + 1]!);
  const n = points.length;
  (fx /= n), (fy /= n), (tx /= n), (ty /= n);
  let re = 0, im = 0, norm = 0;
  for (const i of points) {
    const px = from[i]![0] - fx, py = from[i]![1] - fy, qx = to[2 * i]! - tx, qy = to[2 * i + 1]! - ty;
    // conj(p) q
    re += px * qx + py * qy;
    im += px * qy - py * qx;
    norm += px * px + py * py;
  }
  const a: Vec2 = [re / norm, im / norm];
  const fa = times(a, [fx, fy]);
  const b: Vec2 = [tx - fa[0], ty - fa[1]];
  let residual = 0;
  for (const i of points) {
    const z = times(a, from[i]!);
    residual += (z[0] + b[0] - to[2 * i]!) ** 2 + (z[1] + b[1] - to[2 * i + 1]!) ** 2;
  }
  return { a, b, residual };
}

/**
 * A face's pose and shape against the mean face, from its 68 landmarks (pixels of a `size` px
 * crop). Yaw is searched (whole degrees, then tenths) and roll read from the similarity's angle;
 * pitch is taken as 0: the real photos' vertical proportions differ from the procedural faces'
 * enough that a fitted pitch read them as a 10-25 degree nod, and frontalising that broke the
 * photo; a requested pitch is then relative to the face's own.
 */
export function fitHeadPose(landmarks: ArrayLike<number>, size: number): HeadFit {
  if (landmarks.length !== 136) throw new Error(`fitHeadPose: 68 landmarks (136 numbers) are needed, got ${landmarks.length}`);
  const bestYaw = (yaws: number[], roll: number) => {
    let best = { yaw: 0, residual: Infinity };
    for (const yaw of yaws) {
      const { residual } = similarity(meanFaceAt({ yaw, pitch: 0, roll }, size), landmarks, RIGID_POINTS);
      if (residual < best.residual) best = { yaw, residual };
    }
    return best.yaw;
  };
  const range = (from: number, to: number, step: number) => Array.from({ length: Math.round((to - from) / step) + 1 }, (_, i) => from + i * step);
  const coarse = bestYaw(range(-SEARCH, SEARCH, 1), 0);
  const tilt = similarity(meanFaceAt({ yaw: coarse, pitch: 0, roll: 0 }, size), landmarks, RIGID_POINTS).a;
  const roll = (Math.atan2(tilt[1], tilt[0]) * 180) / Math.PI;
  const pose = { yaw: bestYaw(range(coarse - 1, coarse + 1, 0.1), roll), pitch: 0, roll };
  const { a, b } = similarity(meanFaceAt(pose, size), landmarks, RIGID_POINTS);
  return { pose, a, b, size };
}
