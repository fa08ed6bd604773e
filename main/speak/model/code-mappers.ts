/**
 * The slider mappers: small MLPs from the labels a user can set (head pose in degrees; emotion
 * weights over the 8 MEAD classes and an intensity) to the IRFD codes f_P and f_E, so the editor's
 * sliders drive the same codes the encoders read from a video. Trained in the IRFD stage by
 * regressing the encoders' codes of corpus frames from those frames' labels (ours: the paper
 * drives pose and emotion from source clips only).
 */
import * as tf from '@tensorflow/tfjs-core';
import { EMOTIONS, type Emotion } from '../corpus/emotions';
import { dense, lrelu, type Params } from './nn';

/** Degrees per unit of the pose net's input: the corpus poses stay within about +-30. */
const DEGREES_SCALE = 30;
const HIDDEN = 64;
const EMOTION_HIDDEN = 32;

/** Scope of the pose mapper's variables inside the IRFD params. */
export const POSE_MAPPER_SCOPE = 'P_map';
/** Scope of the emotion mapper's variables inside the IRFD params. */
export const EMOTION_MAPPER_SCOPE = 'E_map';

export interface HeadPoseDegrees {
  yaw: number;
  pitch: number;
  roll: number;
}

/** Pose labels [N, 3] (yaw, pitch, roll in degrees) -> f_P [N, dim]. */
export function poseToCode(p: Params, posesDegrees: tf.Tensor2D, dim = 8): tf.Tensor2D {
  const q = p.scope(POSE_MAPPER_SCOPE);
  const x = tf.div(posesDegrees, DEGREES_SCALE) as tf.Tensor2D;
  const h1 = lrelu(dense(q, 'fc1', x, HIDDEN)) as tf.Tensor2D;
  const h2 = lrelu(dense(q, 'fc2', h1, HIDDEN)) as tf.Tensor2D;
  return dense(q, 'out', h2, dim);
}

/**
 * Emotion weights [N, 8] (order EMOTIONS) and intensities [N] or [N, 1] in 0..1 -> f_E [N, dim]:
 * each class has its own small MLP of the intensity (its code path from neutral-looking to full),
 * and the weights blend the class codes, so a mixed emotion on the sliders is a mix of codes.
 */
export function emotionToCode(p: Params, weights: tf.Tensor2D, intensity: tf.Tensor, dim = 16): tf.Tensor2D {
  if (weights.shape[1] !== EMOTIONS.length) throw new Error(`emotionToCode: weights must be [N, ${EMOTIONS.length}] (one per emotion: ${EMOTIONS.join(', ')}), got [${weights.shape}]`);
  const q = p.scope(EMOTION_MAPPER_SCOPE);
  const level = tf.reshape(intensity, [-1, 1]) as tf.Tensor2D;
  const codes = EMOTIONS.map((emotion) => {
    const h = lrelu(dense(q, `${emotion}.fc1`, level, EMOTION_HIDDEN)) as tf.Tensor2D;
    return dense(q, `${emotion}.out`, h, dim);
  });
  const stacked = tf.stack(codes, 1); // [N, 8, dim]
  return tf.sum(tf.mul(stacked, tf.expandDims(weights, 2)), 1) as tf.Tensor2D;
}

/** Checks slider input, saying what is wrong; returns the pose as numbers. */
export function checkPose(pose: HeadPoseDegrees): HeadPoseDegrees {
  for (const key of ['yaw', 'pitch', 'roll'] as const) {
    const v = pose[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`Pose ${key} must be a finite number of degrees, got ${String(v)}`);
    if (Math.abs(v) > 90) throw new Error(`Pose ${key} ${v} degrees is outside -90..90; give a head rotation in degrees`);
  }
  return { yaw: pose.yaw, pitch: pose.pitch, roll: pose.roll };
}

/**
 * Emotion weights as given by a user (8 numbers in EMOTIONS order, or a partial map by name),
 * checked and normalised to sum 1. All zero means neutral.
 */
export function emotionWeights(weights: readonly number[] | Partial<Record<Emotion, number>>): Float32Array {
  const out = new Float32Array(EMOTIONS.length);
  if (Array.isArray(weights)) {
    if (weights.length !== EMOTIONS.length) throw new Error(`Emotion weights need ${EMOTIONS.length} numbers in the order ${EMOTIONS.join(', ')}; got ${weights.length}`);
    weights.forEach((w, i) => (out[i] = w));
  } else {
    for (const [name, w] of Object.entries(weights)) {
      const i = EMOTIONS.indexOf(name as Emotion);
      if (i < 0) throw new Error(`Unknown emotion '${name}'; use one of ${EMOTIONS.join(', ')}`);
      out[i] = w as number;
    }
  }
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i]!) || out[i]! < 0) throw new Error(`Emotion weight for ${EMOTIONS[i]} must be a number >= 0, got ${String(out[i])}`);
  }
  const sum = out.reduce((a, b) => a + b, 0);
  if (sum === 0) out[EMOTIONS.indexOf('neutral')] = 1;
  else for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** One slider pose -> f_P as numbers (for the editor's preview). */
export function poseCode(p: Params, pose: HeadPoseDegrees, dim = 8): Float32Array {
  const { yaw, pitch, roll } = checkPose(pose);
  return tf.tidy(() => poseToCode(p, tf.tensor2d([[yaw, pitch, roll]]), dim).dataSync() as Float32Array);
}

/** One slider emotion (weights, intensity 0..1) -> f_E as numbers. */
export function emotionCode(p: Params, weights: readonly number[] | Partial<Record<Emotion, number>>, intensity: number, dim = 16): Float32Array {
  if (!Number.isFinite(intensity) || intensity < 0 || intensity > 1) throw new Error(`Emotion intensity must be between 0 and 1, got ${String(intensity)}`);
  const w = emotionWeights(weights);
  return tf.tidy(() => emotionToCode(p, tf.tensor2d(w, [1, EMOTIONS.length]), tf.tensor1d([intensity]), dim).dataSync() as Float32Array);
}

/**
 * The value of x with no gradient flowing back into it: the mappers regress the encoders' codes
 * as fixed targets (the encoders must not bend toward what the mappers can reproduce).
 * tfjs-core has no stopGradient op; a custom gradient of zero does the same.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const detached = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = args[0] as tf.Tensor;
    return { value: tf.clone(t), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
  });
  return detached(x) as T;
}

/** Mean squared error against fixed targets (no gradient flows into them: e.g. encoder codes), over the rows where mask is 1. */
export function mapperLoss(predicted: tf.Tensor2D, encoderCodes: tf.Tensor2D, mask?: tf.Tensor1D): tf.Scalar {
  const perRow = tf.mean(tf.square(tf.sub(predicted, stopGradient(encoderCodes))), 1);
  if (!mask) return tf.mean(perRow) as tf.Scalar;
  return tf.div(tf.sum(tf.mul(perRow, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}
