/**
 * Motion for the pixel-moving generator (the FOMM / LivePortrait route the issue asks for, so a
 * real photo keeps its identity): SPEAK's codes drive the 68 iBUG landmarks, and a dense motion
 * net turns source and driving landmarks into a backward flow and an occlusion map.
 *
 * - Motion head: MLP(source landmarks, f'_S, f_P target) -> driving landmarks as offsets from the
 *   source's. Trained with L_kp, an L2 loss to the ground-truth driving landmarks: ours, not the
 *   paper's (the procedural corpus has exact landmarks for every frame).
 * - Dense motion (FOMM-style, translations only): landmarks are grouped into regions (a setting);
 *   in region k, the backward shift at pixel z is the Gaussian-weighted mean of its landmarks'
 *   (source - driving) offsets around the driving landmarks (fading to 0 far from them; the
 *   'face' region's Gaussians are wide, so it carries the whole head's motion); a small
 *   hourglass on the region heatmap differences (driving minus source), the downsampled source and
 *   the source warped by each region's flow predicts softmax masks over the K regions plus the
 *   background (identity flow), and a sigmoid occlusion map.
 *
 * Coordinates: landmarks normalised x / size * 2 - 1 (pixel edges at -1 and 1, align_corners
 * false); flows returned here are normalised the same way, and `flowToPixels` turns one into the
 * pixel sampling positions warp.ts takes at any resolution.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv, dense, downsample2x, lrelu, upsample2x, type Params } from './nn';
import { SPEECH_POINTS } from './mouth';
import { warp } from './warp';

/** iBUG-68 landmark index ranges [from, to) of each face part. */
export const LANDMARK_PARTS = {
  jaw: [[0, 17]],
  brows: [[17, 27]],
  eyes: [[36, 48]],
  nose: [[27, 36]],
  mouth: [[48, 68]],
  face: [[0, 68]],
} as const satisfies Record<string, readonly (readonly [number, number])[]>;
export type LandmarkRegion = keyof typeof LANDMARK_PARTS;

export interface MotionSettings {
  /** Regions whose landmarks move together in the dense motion (each one softmax mask). */
  regions: readonly LandmarkRegion[];
  /** Gaussian radius around each landmark, normalised units (the image is 2 wide). */
  sigma: number;
  /**
   * Radius for the 'face' region, wider: its motion is the whole head's (a turn moves the hair and
   * ears too, where no landmark is), so it reaches past the landmarks before fading out.
   */
  headSigma: number;
  /** Side of the dense motion grid as a fraction of the image (0.5: 32 px motion for 64 px frames). */
  scale: number;
  /** Width of the motion head MLP and of the dense motion hourglass. */
  headWidth: number;
  hourglassWidth: number;
  /**
   * Ours (issue 14): a second branch of the motion head, from f'_S and the source's landmarks to
   * offsets of the points the speech moves (jaw and lips, mouth.ts), added to the main head's. A
   * short path from the audio-carrying f'_S to the mouth, so L_kp's mouth error reaches the audio
   * encoder directly. Missing (models saved before it) means no branch: the old structure.
   */
  audioMouth?: boolean;
}

export const MOTION_DEFAULTS: MotionSettings = {
  regions: ['jaw', 'brows', 'eyes', 'nose', 'mouth', 'face'],
  sigma: 0.08,
  headSigma: 0.3,
  scale: 0.5,
  headWidth: 128,
  hourglassWidth: 32,
};

/** Landmarks in pixels of a `size` crop [N, 136] -> normalised [N, 136]. */
export function normaliseLandmarks(pixels: tf.Tensor2D, size: number): tf.Tensor2D {
  return tf.sub(tf.mul(pixels, 2 / size), 1);
}

/** Predicted driving landmarks (normalised [N, 136]) = source + MLP(source, f'_S, f_P target). */
export function motionHead(p: Params, source: tf.Tensor2D, style: tf.Tensor2D, pose: tf.Tensor2D, settings: MotionSettings = MOTION_DEFAULTS): tf.Tensor2D {
  if (source.shape[1] !== 136) throw new Error(`motionHead: source landmarks must be [N, 136] (68 x, y pairs), got [${source.shape}]`);
  let h = tf.concat([source, style, pose], 1) as tf.Tensor2D;
  h = lrelu(dense(p, 'fc0', h, settings.headWidth)) as tf.Tensor2D;
  h = lrelu(dense(p, 'fc1', h, settings.headWidth)) as tf.Tensor2D;
  // Small initial offsets: an untrained head keeps the source's landmarks.
  const offsets = dense(p, 'offsets', h, 136, 'small');
  if (!settings.audioMouth) return tf.add(source, offsets);
  let m = tf.concat([style, source], 1) as tf.Tensor2D;
  m = lrelu(dense(p, 'mouth0', m, settings.headWidth)) as tf.Tensor2D;
  m = lrelu(dense(p, 'mouth1', m, settings.headWidth)) as tf.Tensor2D;
  const speech = dense(p, 'mouthOffsets', m, SPEECH_POINTS.length * 2, 'small');
  return tf.add(tf.add(source, offsets), tf.matMul(speech, speechScatter()));
}

/** [2 * speech points, 136]: puts the speech points' (x, y) offsets at their places among the 68. */
function speechScatter(): tf.Tensor2D {
  const m = new Float32Array(SPEECH_POINTS.length * 2 * 136);
  SPEECH_POINTS.forEach((point, i) => {
    m[2 * i * 136 + 2 * point] = 1;
    m[(2 * i + 1) * 136 + 2 * point + 1] = 1;
  });
  return tf.tensor2d(m, [SPEECH_POINTS.length * 2, 136]);
}

/** Membership [68, K] of each landmark in each region (1/0), for the regions `use` picks (others 0). */
function membership(regions: readonly LandmarkRegion[], use: (region: LandmarkRegion) => boolean): tf.Tensor2D {
  const m = new Float32Array(68 * regions.length);
  regions.forEach((region, k) => {
    if (!use(region)) return;
    for (const [from, to] of LANDMARK_PARTS[region]) for (let i = from; i < to; i++) m[i * regions.length + k] = 1;
  });
  return tf.tensor2d(m, [68, regions.length]);
}

/** Normalised pixel-centre grid [r * r, 2] (x, y) of an r x r image. */
function normalisedGrid(r: number): tf.Tensor2D {
  return tf.tidy(() => {
    const c = tf.sub(tf.mul(tf.add(tf.range(0, r, 1, 'float32'), 0.5), 2 / r), 1);
    const xs = tf.tile(tf.reshape(c, [1, r, 1]), [r, 1, 1]);
    const ys = tf.tile(tf.reshape(c, [r, 1, 1]), [1, r, 1]);
    return tf.reshape(tf.concat([xs, ys], 2), [r * r, 2]) as tf.Tensor2D;
  });
}

/** Normalised flow [N, r, r, 2] -> pixel sampling positions in an image of side `side` (for warp()). */
export function flowToPixels(flow: tf.Tensor4D, side: number): tf.Tensor4D {
  return tf.sub(tf.mul(tf.add(flow, 1), side / 2), 0.5);
}

/** Gaussian weights [N, r*r, 68] of every grid point to every landmark. */
function gaussians(grid: tf.Tensor2D, landmarks: tf.Tensor3D, sigma: number): tf.Tensor3D {
  const g = tf.expandDims(grid, 0); // [1, P, 2]
  const gx = tf.slice(g, [0, 0, 0], [-1, -1, 1]);
  const gy = tf.slice(g, [0, 0, 1], [-1, -1, 1]);
  const lx = tf.expandDims(tf.squeeze(tf.slice(landmarks, [0, 0, 0], [-1, -1, 1]), [2]), 1); // [N, 1, 68]
  const ly = tf.expandDims(tf.squeeze(tf.slice(landmarks, [0, 0, 1], [-1, -1, 1]), [2]), 1);
  const d2 = tf.add(tf.square(tf.sub(gx, lx)), tf.square(tf.sub(gy, ly)));
  return tf.exp(tf.mul(d2, -1 / (2 * sigma * sigma))) as tf.Tensor3D;
}

export interface DenseMotion {
  /** Backward flow, normalised positions in the source [N, r, r, 2]. */
  flow: tf.Tensor4D;
  /** 1 where the warped source can be trusted, 0 where the refinement must paint [N, r, r, 1]. */
  occlusion: tf.Tensor4D;
  /** Softmax over background + regions [N, r, r, K + 1]. */
  masks: tf.Tensor4D;
}

/**
 * Dense motion from source and driving landmarks (normalised [N, 136]) and the source image
 * [N, H, W, 3] (H = W). Grid side r = round(H * scale).
 */
export function denseMotion(p: Params, sourceImage: tf.Tensor4D, source: tf.Tensor2D, driving: tf.Tensor2D, settings: MotionSettings = MOTION_DEFAULTS): DenseMotion {
  const [n, h, w] = sourceImage.shape;
  if (h !== w) throw new Error(`denseMotion: the source image must be square, got ${h} x ${w}`);
  const r = Math.round(h * settings.scale);
  if (r % 4 !== 0) throw new Error(`denseMotion: the motion grid side (${r} = ${h} x ${settings.scale}) must be a multiple of 4 for the hourglass`);
  const k = settings.regions.length;
  const grid = normalisedGrid(r);
  const src = tf.reshape(source, [n, 68, 2]) as tf.Tensor3D;
  const drv = tf.reshape(driving, [n, 68, 2]) as tf.Tensor3D;
  const batched = (m: tf.Tensor2D) => tf.tile(tf.expandDims(m, 0), [n, 1, 1]) as tf.Tensor3D; // [N, 68, K]
  const near = batched(membership(settings.regions, (region) => region !== 'face'));
  const head = batched(membership(settings.regions, (region) => region === 'face'));
  // Gaussians of every grid point to every landmark [N, P, 68], narrow (parts) and wide (the head).
  // Settings saved before headSigma existed had one radius for every region: the same here.
  const headSigma = settings.headSigma ?? settings.sigma;
  const spread = (points: tf.Tensor3D) => [gaussians(grid, points, settings.sigma), gaussians(grid, points, headSigma)] as const;
  const atDriving = spread(drv);
  // Region-summed Gaussian mass around each grid point [N, P, K]; `values` [N, 68, 1] weights each landmark.
  const mass = ([narrow, wide]: readonly [tf.Tensor3D, tf.Tensor3D], values?: tf.Tensor3D) => {
    const weigh = (m: tf.Tensor3D) => (values ? tf.mul(m, values) : m);
    return tf.add(tf.matMul(narrow, weigh(near)), tf.matMul(wide, weigh(head)));
  };
  // Region k's shift at z: sum_i w_i(z) m_ik (s_i - d_i) / (sum_i w_i(z) m_ik + eps), eps so it fades to 0 far away.
  const weightSum = mass(atDriving); // [N, P, K]
  const offsets = tf.sub(src, drv); // [N, 68, 2]
  const shiftOf = (c: number) => tf.div(mass(atDriving, tf.slice(offsets, [0, 0, c], [-1, -1, 1]) as tf.Tensor3D), tf.add(weightSum, 0.05)); // [N, P, K]
  const shifts = tf.stack([shiftOf(0), shiftOf(1)], 3); // [N, P, K, 2]
  const gridB = tf.reshape(grid, [1, r * r, 1, 2]);
  const regionFlows = tf.concat([tf.tile(gridB, [n, 1, 1, 1]), tf.add(gridB, shifts)], 2); // [N, P, K + 1, 2] (0: background)
  // Inputs of the hourglass: heatmap differences, the small source, the source warped by each region's flow.
  const heat = tf.sub(weightSum, mass(spread(src)));
  const small = tf.image.resizeBilinear(sourceImage, [r, r]);
  const flowsPerRegion = tf.reshape(tf.transpose(tf.reshape(regionFlows, [n, r, r, k + 1, 2]), [0, 3, 1, 2, 4]), [n * (k + 1), r, r, 2]) as tf.Tensor4D;
  const repeated = tf.reshape(tf.tile(tf.expandDims(small, 1), [1, k + 1, 1, 1, 1]), [n * (k + 1), r, r, 3]) as tf.Tensor4D;
  const deformed = warp(repeated, flowToPixels(flowsPerRegion, r));
  const deformedChannels = tf.reshape(tf.transpose(tf.reshape(deformed, [n, k + 1, r, r, 3]), [0, 2, 3, 1, 4]), [n, r, r, (k + 1) * 3]);
  const input = tf.concat([tf.reshape(heat, [n, r, r, k]), small, deformedChannels], 3) as tf.Tensor4D;
  const c = settings.hourglassWidth;
  const e0 = lrelu(conv(p, 'hg.e0', input, c)) as tf.Tensor4D; // r
  const e1 = lrelu(conv(p, 'hg.e1', downsample2x(e0), c * 2)) as tf.Tensor4D; // r/2
  const e2 = lrelu(conv(p, 'hg.e2', downsample2x(e1), c * 2)) as tf.Tensor4D; // r/4
  const d1 = lrelu(conv(p, 'hg.d1', tf.concat([upsample2x(e2), e1], 3) as tf.Tensor4D, c * 2)) as tf.Tensor4D;
  const d0 = lrelu(conv(p, 'hg.d0', tf.concat([upsample2x(d1), e0], 3) as tf.Tensor4D, c)) as tf.Tensor4D;
  const masks = tf.softmax(conv(p, 'hg.masks', d0, k + 1)) as tf.Tensor4D;
  const occlusion = tf.sigmoid(tf.add(conv(p, 'hg.occlusion', d0, 1), 2)) as tf.Tensor4D; // starts near 1 (trust the warp)
  const maskP = tf.reshape(masks, [n, r * r, k + 1, 1]);
  const flow = tf.reshape(tf.sum(tf.mul(maskP, regionFlows), 2), [n, r, r, 2]) as tf.Tensor4D;
  return { flow, occlusion, masks };
}
