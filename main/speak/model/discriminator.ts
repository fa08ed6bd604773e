/**
 * SPEAK's L_GAN discriminator (methods.md 5.2, after Song et al. 2022): a conditional PatchGAN
 * D(identity frame, frame), channels concatenated, run at two scales (full and half resolution,
 * each its own net), trained with the least-squares loss (LSGAN).
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv, downsample2x, instanceNorm, lrelu, type Params } from './nn';

export interface DiscriminatorSettings {
  width: number;
  /** Scales: 1 = full only, 2 = full and half. */
  scales: number;
}

export const DISCRIMINATOR_DEFAULTS: DiscriminatorSettings = { width: 16, scales: 2 };

function patchGan(p: Params, x: tf.Tensor4D, width: number): tf.Tensor4D {
  let h = lrelu(conv(p, 'c0', x, width, 4, 2)) as tf.Tensor4D;
  h = lrelu(instanceNorm(conv(p, 'c1', h, width * 2, 4, 2))) as tf.Tensor4D;
  h = lrelu(instanceNorm(conv(p, 'c2', h, width * 4, 4, 1))) as tf.Tensor4D;
  return conv(p, 'patch', h, 1, 3);
}

/** Patch scores, one map per scale (full first). */
export function discriminate(p: Params, identity: tf.Tensor4D, frame: tf.Tensor4D, settings: DiscriminatorSettings = DISCRIMINATOR_DEFAULTS): tf.Tensor4D[] {
  if (identity.shape.join() !== frame.shape.join()) throw new Error(`discriminate: identity [${identity.shape}] and frame [${frame.shape}] must have one shape`);
  let x = tf.concat([tf.sub(tf.mul(identity, 2), 1), tf.sub(tf.mul(frame, 2), 1)], 3) as tf.Tensor4D;
  const out: tf.Tensor4D[] = [];
  for (let s = 0; s < settings.scales; s++) {
    out.push(patchGan(p.scope(`scale${s}`), x, settings.width));
    x = downsample2x(x);
  }
  return out;
}

const meanOver = (maps: tf.Tensor4D[], f: (m: tf.Tensor4D) => tf.Tensor): tf.Scalar =>
  tf.div(tf.addN(maps.map((m) => tf.mean(f(m)))), maps.length) as tf.Scalar;

/** LSGAN discriminator loss: real patches toward 1, generated toward 0 (averaged over scales). */
export function discriminatorLoss(real: tf.Tensor4D[], fake: tf.Tensor4D[]): tf.Scalar {
  return tf.add(meanOver(real, (m) => tf.square(tf.sub(m, 1))), meanOver(fake, (m) => tf.square(m))) as tf.Scalar;
}

/** LSGAN generator loss: generated patches toward 1. */
export function generatorGanLoss(fake: tf.Tensor4D[]): tf.Scalar {
  return meanOver(fake, (m) => tf.square(tf.sub(m, 1)));
}
