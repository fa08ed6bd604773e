/**
 * SPEAK's editing module (methods.md 5.1): the audio features f_a(t) with the emotion code f_E go
 * through a stack of fully connected blocks; after each block AdaIN injects the face codes
 * f_R = concat(f_I, f_P(t)) and seeded noise is added, giving the multimodal latent f'_S(t).
 * The paper gives no depths or widths (5.5): ours are settings (3 blocks of 128 by default).
 */
import * as tf from '@tensorflow/tfjs-core';
import { adainVector, dense, injectNoise, lrelu, type Params } from './nn';

export interface EditingSettings {
  /** FC blocks (each: dense, leaky ReLU, AdaIN of f_R, noise). */
  blocks: number;
  width: number;
  /** Size of f'_S. */
  styleDim: number;
}

export const EDITING_DEFAULTS: EditingSettings = { blocks: 3, width: 128, styleDim: 64 };

export interface EditingInputs {
  /** Audio features f_a(t) [N, A]. */
  audio: tf.Tensor2D;
  /** Emotion code f_E [N, E]. */
  emotion: tf.Tensor2D;
  /** Identity code f_I [N, I]. */
  identity: tf.Tensor2D;
  /** Pose code f_P(t) [N, P]. */
  pose: tf.Tensor2D;
  /** Seed of the injected noise (block b uses seed + b); null for none (a deterministic preview). */
  noiseSeed: number | null;
}

/** f'_S [N, styleDim]. */
export function editingModule(p: Params, inputs: EditingInputs, settings: EditingSettings = EDITING_DEFAULTS): tf.Tensor2D {
  const n = inputs.audio.shape[0];
  for (const [name, t] of Object.entries({ emotion: inputs.emotion, identity: inputs.identity, pose: inputs.pose })) {
    if (t.shape[0] !== n) throw new Error(`editingModule: ${name} has ${t.shape[0]} rows for ${n} audio rows; give one code per frame`);
  }
  const faceCodes = tf.concat([inputs.identity, inputs.pose], 1) as tf.Tensor2D;
  let h = tf.concat([inputs.audio, inputs.emotion], 1) as tf.Tensor2D;
  for (let b = 0; b < settings.blocks; b++) {
    h = lrelu(dense(p, `fc${b}`, h, settings.width)) as tf.Tensor2D;
    h = adainVector(p, `adain${b}`, h, faceCodes);
    h = injectNoise(p, `noise${b}`, h, inputs.noiseSeed === null ? null : inputs.noiseSeed + b) as tf.Tensor2D;
  }
  return dense(p, 'out', h, settings.styleDim);
}
