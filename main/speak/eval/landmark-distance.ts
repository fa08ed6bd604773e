/**
 * Landmark distance, SPEAK's Table 1 columns F-LMD (all 68 iBUG points) and M-LMD (the mouth,
 * points 48-67): the mean Euclidean distance between the landmarks of a generated frame and of
 * its ground-truth frame, averaged over points and frames (as ATVG defined it).
 *
 * Units: pixels of the evaluated frames, not normalised (the paper states no normalisation; its
 * frames are 256 px). `atPaperScale` rescales a distance to 256 px so a 64 px evaluation can sit
 * beside the paper's numbers; say which one a table shows.
 */

/** 68 iBUG landmarks as [x0, y0, x1, y1, ...] in pixels (SpeakClip.landmarks' layout). */
export type Landmarks68 = ArrayLike<number>;

export const LANDMARK_COUNT = 68;
/** iBUG 48-67: outer lips 48-59, inner lips 60-67. */
export const MOUTH_POINTS: readonly number[] = Array.from({ length: 20 }, (_, i) => 48 + i);
export const ALL_POINTS: readonly number[] = Array.from({ length: LANDMARK_COUNT }, (_, i) => i);
/** The paper's evaluation resolution. */
export const PAPER_SIZE = 256;

function checkLandmarks(points: Landmarks68, what: string): void {
  if (points.length !== 2 * LANDMARK_COUNT) {
    throw new Error(`${what} has ${points.length} values; 68 landmarks need 136 ([x0, y0, x1, y1, ...] in pixels)`);
  }
  for (let i = 0; i < points.length; i++) {
    if (!Number.isFinite(points[i])) throw new Error(`${what} value ${i} is ${points[i]}: every coordinate must be a finite number of pixels`);
  }
}

/** Mean Euclidean distance in pixels over the given point indices of one frame. */
export function landmarkDistance(predicted: Landmarks68, truth: Landmarks68, points: readonly number[] = ALL_POINTS): number {
  checkLandmarks(predicted, 'Predicted landmarks');
  checkLandmarks(truth, 'Ground-truth landmarks');
  if (points.length === 0) throw new Error('landmarkDistance needs at least one point index');
  let sum = 0;
  for (const p of points) {
    if (!Number.isInteger(p) || p < 0 || p >= LANDMARK_COUNT) throw new Error(`Point index ${p} is not an iBUG landmark (0..67)`);
    sum += Math.hypot(predicted[2 * p]! - truth[2 * p]!, predicted[2 * p + 1]! - truth[2 * p + 1]!);
  }
  return sum / points.length;
}

/** F-LMD of one frame: all 68 points. */
export const faceLmd = (predicted: Landmarks68, truth: Landmarks68): number => landmarkDistance(predicted, truth, ALL_POINTS);

/** M-LMD of one frame: the mouth, points 48-67. */
export const mouthLmd = (predicted: Landmarks68, truth: Landmarks68): number => landmarkDistance(predicted, truth, MOUTH_POINTS);

export interface LmdResult {
  /** Mean over frames of the mean over all 68 points, pixels. */
  fLmd: number;
  /** Mean over frames of the mean over the 20 mouth points, pixels. */
  mLmd: number;
  frames: number;
}

/**
 * F-LMD and M-LMD over paired frames (frame i predicted against frame i of the truth). Every
 * frame has the same number of points, so the mean of frame means is the mean over all points.
 */
export function sequenceLmd(predicted: readonly Landmarks68[], truth: readonly Landmarks68[]): LmdResult {
  if (predicted.length !== truth.length) {
    throw new Error(`${predicted.length} predicted frames against ${truth.length} ground-truth frames: landmark distance pairs frame i with frame i`);
  }
  if (predicted.length === 0) throw new Error('Landmark distance needs at least one frame');
  let f = 0;
  let m = 0;
  predicted.forEach((p, i) => {
    f += faceLmd(p, truth[i]!);
    m += mouthLmd(p, truth[i]!);
  });
  return { fLmd: f / predicted.length, mLmd: m / predicted.length, frames: predicted.length };
}

/** A distance measured on `size` px frames expressed at the paper's 256 px (distances scale with the frame). */
export function atPaperScale(distance: number, size: number): number {
  if (!(size > 0)) throw new Error(`Frame size must be positive (got ${size})`);
  return (distance * PAPER_SIZE) / size;
}
