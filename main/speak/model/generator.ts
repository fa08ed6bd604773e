/**
 * SPEAK's generator in our pixel-moving form: the identity image itself is encoded, its features
 * (1/2 and 1/4 resolution; at full resolution the photo's own pixels) are warped by the dense
 * motion's backward flow and multiplied by the occlusion map, then a
 * refinement net (residual blocks with AdaIN from mlp(f_I, f_P) and f'_S, SPEAK's
 * I_g = G_g(mlp(f_I, f_P), F = f'_S)) decodes an RGB frame of the input's size. The editing module
 * turns the audio and emotion codes into f'_S, which (with the target pose code) drives the 68
 * landmarks through the motion head. Moving the photo's pixels, rather than painting a face from
 * codes learned on procedural faces, is what lets a real photo keep its identity (issue 14).
 */
import * as tf from '@tensorflow/tfjs-core';
import { adain, conv, dense, downsample2x, lrelu, resBlock, upsample2x, type Params } from './nn';
import { EDITING_DEFAULTS, editingModule, type EditingSettings } from './editing';
import { denseMotion, flowToPixels, motionHead, MOTION_DEFAULTS, normaliseLandmarks, type DenseMotion, type MotionSettings } from './motion';
import { warp } from './warp';

export interface GeneratorSettings {
  /** Width of the full-resolution encoder level (then x2, x4 at 1/2 and 1/4). */
  width: number;
  /** Residual AdaIN blocks at 1/4 resolution. */
  resBlocks: number;
  /** Width of mlp(f_I, f_P). */
  faceCodeWidth: number;
  editing: EditingSettings;
  motion: MotionSettings;
}

export const GENERATOR_DEFAULTS: GeneratorSettings = {
  width: 16,
  resBlocks: 2,
  faceCodeWidth: 64,
  editing: EDITING_DEFAULTS,
  motion: MOTION_DEFAULTS,
};

export interface GeneratorInputs {
  /** The identity image [N, S, S, 3] in [0, 1], S a multiple of 8. */
  source: tf.Tensor4D;
  /** Its 68 landmarks in pixels [N, 136] (ground truth for corpus frames, face-api's on a photo crop). */
  sourceLandmarks: tf.Tensor2D;
  /** f_I of the source [N, I]. */
  identity: tf.Tensor2D;
  /** f_E wanted [N, E]. */
  emotion: tf.Tensor2D;
  /** f_P(t) wanted [N, P]. */
  pose: tf.Tensor2D;
  /** f_a(t) [N, A]. */
  audio: tf.Tensor2D;
  /** Seed of the editing module's noise; null for none. */
  noiseSeed: number | null;
  /**
   * Driving landmarks (pixels [N, 136]) to warp with instead of the motion head's (teacher forcing
   * in training: the dense motion learns from true motion while the head is still learning).
   */
  drivingLandmarks?: tf.Tensor2D;
  /**
   * Relative motion (FOMM's relative mode): the motion head's landmarks for the source under its
   * OWN codes and silence (normalised [N, 136], `restLandmarks()`). When given, the warp drives the
   * source's own landmarks by the head's change from that rest (driving = source + head - rest), so
   * a photo keeps its own face geometry rather than taking the procedural faces' the head learned.
   */
  restLandmarks?: tf.Tensor2D;
}

export interface GeneratedFrame {
  /** [N, S, S, 3] in [0, 1]: the decoder's sigmoid RGB blended per pixel with the warped photo. */
  frame: tf.Tensor4D;
  /** The motion head's driving landmarks (with restLandmarks: the relative ones the warp used), normalised [N, 136] (pixels: (x + 1) * S / 2). */
  landmarks: tf.Tensor2D;
  /** f'_S [N, styleDim]. */
  style: tf.Tensor2D;
  motion: DenseMotion;
}

/** `features` warped by the (normalised) flow at their own resolution, times the occlusion map when given. */
function warpLevel(features: tf.Tensor4D, flow: tf.Tensor4D, occlusion: tf.Tensor4D | null): tf.Tensor4D {
  const side = features.shape[1];
  const f = flow.shape[1] === side ? flow : tf.image.resizeBilinear(flow, [side, side]);
  const warped = warp(features, flowToPixels(f, side));
  if (!occlusion) return warped;
  const o = occlusion.shape[1] === side ? occlusion : tf.image.resizeBilinear(occlusion, [side, side]);
  return tf.mul(warped, o) as tf.Tensor4D;
}

export type MotionInputs = Pick<GeneratorInputs, 'sourceLandmarks' | 'identity' | 'emotion' | 'pose' | 'audio' | 'noiseSeed'>;

/**
 * The generator's audio/code path alone (editing module -> f'_S -> motion head), no images: the
 * predicted driving landmarks (normalised), f'_S and the source's landmarks (normalised). The
 * generator stage also trains this path on landmark-only batches (issue 14).
 */
export function drivingLandmarks(p: Params, inputs: MotionInputs, size: number, settings: GeneratorSettings = GENERATOR_DEFAULTS): { style: tf.Tensor2D; landmarks: tf.Tensor2D; source: tf.Tensor2D } {
  const style = editingModule(p.scope('editing'), inputs, settings.editing);
  const source = normaliseLandmarks(inputs.sourceLandmarks, size);
  const landmarks = motionHead(p.scope('motionHead'), source, style, inputs.pose, settings.motion);
  return { style, landmarks, source };
}

/**
 * Generator settings with a partial override merged level by level: a partial `motion` (e.g. only
 * `{ audioMouth: true }`) keeps the other motion defaults, while a whole saved one (it has
 * `regions`) is kept as saved (a model saved before headSigma keeps one radius, denseMotion).
 */
export function generatorSettingsWith(partial: Partial<GeneratorSettings> | undefined): GeneratorSettings {
  const motion = partial?.motion && 'regions' in partial.motion ? partial.motion : { ...GENERATOR_DEFAULTS.motion, ...partial?.motion };
  return { ...GENERATOR_DEFAULTS, ...partial, editing: { ...GENERATOR_DEFAULTS.editing, ...partial?.editing }, motion };
}

/** One frame per row of the inputs (call inside tf.tidy or a minimize closure). */
export function generateFrame(p: Params, inputs: GeneratorInputs, settings: GeneratorSettings = GENERATOR_DEFAULTS): GeneratedFrame {
  const [n, size, sizeW, channels] = inputs.source.shape;
  if (size !== sizeW || channels !== 3 || size % 8 !== 0) throw new Error(`generateFrame: the source must be square RGB with a side divisible by 8, got [${inputs.source.shape}]`);
  if (inputs.sourceLandmarks.shape[0] !== n || inputs.sourceLandmarks.shape[1] !== 136) {
    throw new Error(`generateFrame: sourceLandmarks must be [${n}, 136] (68 x, y pixel pairs per source image), got [${inputs.sourceLandmarks.shape}]`);
  }
  const { style, landmarks, source } = drivingLandmarks(p, inputs, size, settings);
  const driving = inputs.drivingLandmarks
    ? normaliseLandmarks(inputs.drivingLandmarks, size)
    : inputs.restLandmarks
      ? (tf.add(source, tf.sub(landmarks, inputs.restLandmarks)) as tf.Tensor2D)
      : landmarks;
  const motion = denseMotion(p.scope('denseMotion'), inputs.source, source, driving, settings.motion);

  const g = p.scope('refine');
  const w = settings.width;
  const x = tf.sub(tf.mul(inputs.source, 2), 1) as tf.Tensor4D;
  const e0 = lrelu(conv(g, 'enc0', x, w)) as tf.Tensor4D; // S
  const e1 = lrelu(conv(g, 'enc1', downsample2x(e0), w * 2)) as tf.Tensor4D; // S/2
  const e2 = lrelu(conv(g, 'enc2', downsample2x(e1), w * 4)) as tf.Tensor4D; // S/4
  const faceCode = lrelu(dense(g, 'faceCode1', lrelu(dense(g, 'faceCode0', tf.concat([inputs.identity, inputs.pose], 1) as tf.Tensor2D, settings.faceCodeWidth)) as tf.Tensor2D, settings.faceCodeWidth)) as tf.Tensor2D;
  const modulation = tf.concat([faceCode, style], 1) as tf.Tensor2D;
  // The warped photo itself (not its features) is the full-resolution skip: its pixels can pass
  // almost unchanged, and one 3-channel warp costs far less than warping the width-w features.
  const warpedSource = warpLevel(x, motion.flow, null);
  let h = warpLevel(e2, motion.flow, motion.occlusion);
  for (let b = 0; b < settings.resBlocks; b++) h = adain(g, `res${b}.adain`, resBlock(g, `res${b}`, h, w * 4), modulation);
  h = lrelu(adain(g, 'dec1.adain', conv(g, 'dec1', tf.concat([upsample2x(h), warpLevel(e1, motion.flow, motion.occlusion)], 3) as tf.Tensor4D, w * 2), modulation)) as tf.Tensor4D;
  h = lrelu(adain(g, 'dec0.adain', conv(g, 'dec0', tf.concat([upsample2x(h), warpedSource], 3) as tf.Tensor4D, w), modulation)) as tf.Tensor4D;
  // Decoder to RGB (sigmoid) plus a per-pixel blend with the warped photo: where the warp holds
  // (most of the face) the photo's own pixels pass sharp from the first step, and the decoder
  // paints what the warp cannot show (an opened mouth, uncovered background). The blend starts
  // at sigmoid(2) = 0.88 toward the photo.
  const out = conv(g, 'rgb', tf.concat([h, warpedSource], 3) as tf.Tensor4D, 4);
  const painted = tf.sigmoid(tf.slice(out, [0, 0, 0, 0], [-1, -1, -1, 3]));
  const blend = tf.sigmoid(tf.add(tf.slice(out, [0, 0, 0, 3], [-1, -1, -1, 1]), 2));
  const photo = tf.div(tf.add(warpedSource, 1), 2);
  const frame = tf.add(tf.mul(blend, photo), tf.mul(tf.sub(1, blend), painted)) as tf.Tensor4D;
  return { frame, landmarks: inputs.restLandmarks ? driving : landmarks, style, motion };
}
