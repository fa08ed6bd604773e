/**
 * SPEAK's audio encoder f_a. The paper uses wav2vec 2.0 the way FaceFormer does: a temporal
 * convolutional feature extractor followed by a Transformer encoder. Pretrained wav2vec 2.0
 * weights cannot be downloaded here, so this is a small network of the same shape trained from
 * scratch: a TCN (dilated 1-D convolutions with residuals) over the log-mel window of each video
 * frame (main/speak/audio/mel.ts), then 1-2 Transformer layers (multi-head self-attention with
 * sinusoidal positions, feed-forward), mean-pooled over time to one vector per frame.
 *
 * Input [N, T, M] (N windows, T mel steps, M mel bands) -> [N, audioDim].
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the gradients of every op (tfjs-core alone lacks some)
import { dense, lrelu, type Params } from './nn';

export interface AudioEncoderSettings {
  /** Channels of the TCN and the Transformer. */
  width: number;
  /** One residual block per entry, its dilation (kernel 3): [1, 2, 4] sees 15 mel steps. */
  dilations: number[];
  transformerLayers: number;
  heads: number;
  /** Feed-forward width as a multiple of `width`. */
  ffMultiplier: number;
  audioDim: number;
}

export const AUDIO_ENCODER_DEFAULTS: AudioEncoderSettings = {
  width: 32,
  dilations: [1, 2, 4],
  transformerLayers: 1,
  heads: 2,
  ffMultiplier: 2,
  audioDim: 64,
};

/** Dense over the last axis of [N, T, C] (the same weights at every step). */
function denseSteps(p: Params, name: string, x: tf.Tensor3D, units: number, init: 'he' | 'small' = 'he'): tf.Tensor3D {
  const [n, t, c] = x.shape;
  return tf.reshape(dense(p, name, tf.reshape(x, [n * t, c]), units, init), [n, t, units]);
}

/**
 * Dilated 1-D convolution, kernel 3, 'same' padding, over [N, T, C]. Written as three shifted
 * matrix products (x[t - d], x[t], x[t + d]) because TF.js has no gradient for dilated conv2d.
 */
export function dilatedConv1d(p: Params, name: string, x: tf.Tensor3D, channels: number, dilation: number): tf.Tensor3D {
  const [n, t, c] = x.shape;
  const w = p.get(`${name}.w`, [3, c, channels], 'he', 3 * c);
  const b = p.get(`${name}.b`, [channels], 'zeros');
  const padded = tf.pad(x, [[0, 0], [dilation, dilation], [0, 0]]);
  let out: tf.Tensor = b;
  for (let k = 0; k < 3; k++) {
    const shifted = tf.reshape(tf.slice(padded, [0, k * dilation, 0], [n, t, c]), [n * t, c]);
    const tap = tf.reshape(tf.slice(w, [k, 0, 0], [1, c, channels]), [c, channels]);
    out = tf.add(out, tf.reshape(tf.matMul(shifted, tap), [n, t, channels]));
  }
  return out as tf.Tensor3D;
}

/** Layer normalisation over the last axis with a learned gain and bias. */
export function layerNorm(p: Params, name: string, x: tf.Tensor3D, epsilon = 1e-5): tf.Tensor3D {
  const c = x.shape[2];
  const { mean, variance } = tf.moments(x, [2], true);
  const gain = p.get(`${name}.gain`, [c], 'ones');
  const bias = p.get(`${name}.bias`, [c], 'zeros');
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon))), gain), bias);
}

/** Sinusoidal positions [T, C] (Vaswani et al.): sin on even channels, cos on odd ones. */
export function sinusoidalPositions(steps: number, channels: number): Float32Array {
  const out = new Float32Array(steps * channels);
  for (let t = 0; t < steps; t++) {
    for (let i = 0; i < channels; i++) {
      const angle = t / 10000 ** ((2 * Math.floor(i / 2)) / channels);
      out[t * channels + i] = i % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return out;
}

/** Multi-head self-attention over [N, T, C]. */
export function selfAttention(p: Params, name: string, x: tf.Tensor3D, heads: number): tf.Tensor3D {
  const [n, t, c] = x.shape;
  if (c % heads !== 0) throw new Error(`Attention width ${c} must divide by heads (${heads}).`);
  const dh = c / heads;
  const split = (y: tf.Tensor3D) => tf.transpose(tf.reshape(y, [n, t, heads, dh]), [0, 2, 1, 3]) as tf.Tensor4D;
  const q = split(denseSteps(p, `${name}.q`, x, c));
  const k = split(denseSteps(p, `${name}.k`, x, c));
  const v = split(denseSteps(p, `${name}.v`, x, c));
  const scores = tf.div(tf.matMul(q, k, false, true), Math.sqrt(dh));
  const attended = tf.matMul(tf.softmax(scores), v); // [N, H, T, dh]
  const merged = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [n, t, c]) as tf.Tensor3D;
  return denseSteps(p, `${name}.out`, merged, c);
}

/** One pre-norm Transformer encoder layer. */
function transformerLayer(p: Params, name: string, x: tf.Tensor3D, s: AudioEncoderSettings): tf.Tensor3D {
  const h = tf.add(x, selfAttention(p, `${name}.attn`, layerNorm(p, `${name}.ln1`, x), s.heads)) as tf.Tensor3D;
  const ff = denseSteps(p, `${name}.ff2`, lrelu(denseSteps(p, `${name}.ff1`, layerNorm(p, `${name}.ln2`, h), s.width * s.ffMultiplier)) as tf.Tensor3D, s.width);
  return tf.add(h, ff) as tf.Tensor3D;
}

/** f_a: one audio feature vector per mel window, [N, T, M] -> [N, audioDim]. */
export function audioEncoder(p: Params, mel: tf.Tensor3D, settings: Partial<AudioEncoderSettings> = {}): tf.Tensor2D {
  const s = { ...AUDIO_ENCODER_DEFAULTS, ...settings };
  const [, t] = mel.shape;
  // TCN: project the mel bands, then residual dilated-conv blocks (receptive field grows 2x per block).
  let h = denseSteps(p, 'in', mel, s.width);
  s.dilations.forEach((d, i) => {
    const y = dilatedConv1d(p, `tcn${i}.b`, lrelu(dilatedConv1d(p, `tcn${i}.a`, h, s.width, d)) as tf.Tensor3D, s.width, d);
    h = lrelu(tf.add(h, y)) as tf.Tensor3D;
  });
  // Transformer over the T steps, positions added once at its input.
  h = tf.add(h, tf.tensor2d(sinusoidalPositions(t, s.width), [t, s.width])) as tf.Tensor3D;
  for (let l = 0; l < s.transformerLayers; l++) h = transformerLayer(p, `tf${l}`, h, s);
  const pooled = tf.mean(layerNorm(p, 'lnOut', h), 1) as tf.Tensor2D;
  return dense(p, 'out', pooled, s.audioDim);
}
