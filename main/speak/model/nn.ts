/**
 * The small layer kit every SPEAK network is written with: a named parameter store whose
 * variables are created on first use (shapes inferred from the input, values from a seed and
 * the name, so the same settings and seed give the same network), and the layers the nets need
 * (conv, dense, instance norm, AdaIN, noise injection, resampling). Plain tfjs-core ops and
 * tf.Variables, like the local-learning engine, so a trainer chooses which variables each loss
 * moves. Images are NHWC, values in [0, 1] unless a net says otherwise.
 */
import * as tf from '@tensorflow/tfjs-core';

/** FNV-1a of a string, mixed with a seed: every parameter's own reproducible random stream. */
function nameSeed(seed: number, name: string): number {
  let h = 2166136261 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return (h >>> 0) % 2147483647;
}

export class Params {
  private readonly store = new Map<string, tf.Variable>();

  constructor(
    /** Prefix of every name made through this store (a sub-network's own namespace). */
    readonly prefix = '',
    readonly seed = 1,
    private readonly root?: Params,
  ) {}

  /** A child store whose names start with `prefix.`; variables live in the root store. */
  scope(prefix: string): Params {
    return new Params(this.prefix ? `${this.prefix}.${prefix}` : prefix, this.seed, this.root ?? this);
  }

  /** The variable `name`, created on first use with He-normal values (fanIn given) or zeros/ones. */
  get(name: string, shape: number[], init: 'he' | 'zeros' | 'ones' | 'small' = 'he', fanIn = 1): tf.Variable {
    const full = this.prefix ? `${this.prefix}.${name}` : name;
    const home = this.root ?? this;
    const existing = home.store.get(full);
    if (existing) {
      if (existing.shape.join('x') !== shape.join('x')) throw new Error(`Parameter ${full} was made with shape [${existing.shape}] and is now asked for as [${shape}]`);
      return existing;
    }
    const value = tf.tidy(() => {
      if (init === 'zeros') return tf.zeros(shape);
      if (init === 'ones') return tf.ones(shape);
      const std = init === 'small' ? 0.01 : Math.sqrt(2 / Math.max(1, fanIn));
      return tf.truncatedNormal(shape, 0, std, 'float32', nameSeed(home.seed, full));
    });
    const variable = tf.variable(value, true, undefined, 'float32');
    value.dispose();
    home.store.set(full, variable);
    return variable;
  }

  /** Every variable made so far, sorted by name (a stable order for checkpoints and model files). */
  variables(): { name: string; variable: tf.Variable }[] {
    const home = this.root ?? this;
    const prefix = this.prefix ? `${this.prefix}.` : '';
    return [...home.store.entries()]
      .filter(([name]) => name.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, variable]) => ({ name, variable }));
  }

  trainable(): tf.Variable[] {
    return this.variables().map((v) => v.variable);
  }

  /** Parameters counted (after the nets have run once). */
  count(): number {
    return this.variables().reduce((n, v) => n + v.variable.size, 0);
  }

  dispose(): void {
    for (const { variable } of this.variables()) variable.dispose();
    const home = this.root ?? this;
    const prefix = this.prefix ? `${this.prefix}.` : '';
    for (const name of [...home.store.keys()]) if (name.startsWith(prefix)) home.store.delete(name);
  }
}

export const lrelu = (x: tf.Tensor, slope = 0.2): tf.Tensor => tf.leakyRelu(x, slope);

/** k x k convolution with bias, 'same' padding. */
export function conv(p: Params, name: string, x: tf.Tensor4D, channels: number, kernel = 3, stride = 1): tf.Tensor4D {
  const inC = x.shape[3];
  const w = p.get(`${name}.w`, [kernel, kernel, inC, channels], 'he', kernel * kernel * inC);
  const b = p.get(`${name}.b`, [channels], 'zeros');
  return tf.add(tf.conv2d(x, w as tf.Tensor4D, stride, 'same'), b);
}

/** Fully connected layer over the last axis. */
export function dense(p: Params, name: string, x: tf.Tensor2D, units: number, init: 'he' | 'small' = 'he'): tf.Tensor2D {
  const inC = x.shape[1];
  const w = p.get(`${name}.w`, [inC, units], init, inC);
  const b = p.get(`${name}.b`, [units], 'zeros');
  return tf.add(tf.matMul(x, w as tf.Tensor2D), b);
}

/** Instance normalisation over H, W per image and channel (no affine: AdaIN brings the scale). */
export function instanceNorm(x: tf.Tensor4D, epsilon = 1e-5): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [1, 2], true);
  return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon)));
}

/**
 * AdaIN: normalise each channel of `x` per image, then scale and shift it by values predicted
 * from `style` [N, D] (1 + gamma, beta), the way SPEAK injects the face codes.
 */
export function adain(p: Params, name: string, x: tf.Tensor4D, style: tf.Tensor2D): tf.Tensor4D {
  const c = x.shape[3];
  const gamma = tf.reshape(dense(p, `${name}.gamma`, style, c, 'small'), [-1, 1, 1, c]);
  const beta = tf.reshape(dense(p, `${name}.beta`, style, c, 'small'), [-1, 1, 1, c]);
  return tf.add(tf.mul(instanceNorm(x), tf.add(gamma, 1)), beta);
}

/** AdaIN for feature vectors [N, C] (the editing module's FC blocks): layer-normalise, then modulate. */
export function adainVector(p: Params, name: string, x: tf.Tensor2D, style: tf.Tensor2D, epsilon = 1e-5): tf.Tensor2D {
  const c = x.shape[1];
  const { mean, variance } = tf.moments(x, [1], true);
  const normalised = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon)));
  const gamma = dense(p, `${name}.gamma`, style, c, 'small');
  const beta = dense(p, `${name}.beta`, style, c, 'small');
  return tf.add(tf.mul(normalised, tf.add(gamma, 1)), beta);
}

/**
 * Noise injection: `x` plus per-channel learned strength times Gaussian noise. `seed` makes it
 * reproducible (a generation with a given noise seed repeats exactly); null means no noise.
 */
export function injectNoise(p: Params, name: string, x: tf.Tensor, seed: number | null): tf.Tensor {
  const c = x.shape[x.rank - 1]!;
  const strength = p.get(`${name}.noise`, [c], 'zeros');
  if (seed === null) return x;
  return tf.add(x, tf.mul(tf.randomNormal(x.shape, 0, 1, 'float32', seed), strength));
}

export const upsample2x = (x: tf.Tensor4D): tf.Tensor4D => tf.image.resizeBilinear(x, [x.shape[1] * 2, x.shape[2] * 2]);
export const downsample2x = (x: tf.Tensor4D): tf.Tensor4D => tf.avgPool(x, 2, 2, 'valid');

/** Residual block: two 3x3 convs with leaky ReLU, a 1x1 on the skip when the width changes. */
export function resBlock(p: Params, name: string, x: tf.Tensor4D, channels: number): tf.Tensor4D {
  const h = conv(p, `${name}.c2`, lrelu(conv(p, `${name}.c1`, x, channels)) as tf.Tensor4D, channels);
  const skip = x.shape[3] === channels ? x : conv(p, `${name}.skip`, x, channels, 1);
  return lrelu(tf.add(h, skip)) as tf.Tensor4D;
}

/** Global average over H and W: [N, H, W, C] -> [N, C]. */
export const globalPool = (x: tf.Tensor4D): tf.Tensor2D => tf.mean(x, [1, 2]) as tf.Tensor2D;
