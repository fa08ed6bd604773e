/**
 * The InfoPro CIFAR decoder and its reconstruction loss (../../../../shared/docs/methods.md 0.3
 * "Decoder", 4.2 the BCE term standing for -I(h, x)):
 *
 *   bilinear resize of h to the image size (align_corners=True)
 *   -> conv3x3 (C -> 12w, bias) -> BN -> ReLU -> conv3x3 (12w -> 3, bias) -> sigmoid
 *   loss = mean BCE(decoded, x~), x~ = x * std + mean, the de-normalised image in [0, 1].
 *
 * The output has `imageChannels` channels (3 in the reference; 1 lets MNIST use it too).
 * Init as the reference's init loop: conv weights N(0, 2/(k*k*C_out)); conv biases keep
 * nn.Conv2d's default U(+-1/sqrt(C_in*k*k)); BN 1/0.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Normalization } from '../../data/preprocess';
import { Init } from '../nets/resnet-model';
import { type AuxModule, checkFeatureMap, checkPositiveInt, ConvBnRelu, torchConv, widened } from './aux-classifier';

export interface DecoderOptions {
  inChannels: number;
  imageHeight: number;
  imageWidth: number;
  imageChannels?: number;
  widen?: number;
  seed: number;
}

export interface Decoder extends AuxModule {
  readonly inChannels: number;
  /** h [N, H', W', inChannels] -> reconstruction [N, imageHeight, imageWidth, imageChannels] in [0, 1]. */
  apply(h: tf.Tensor4D, training: boolean): tf.Tensor4D;
}

export function createDecoder(options: DecoderOptions): Decoder {
  const { inChannels, imageHeight, imageWidth, imageChannels = 3, widen = 1, seed } = options;
  checkPositiveInt(inChannels, 'Decoder inChannels');
  checkPositiveInt(imageHeight, 'Decoder imageHeight');
  checkPositiveInt(imageWidth, 'Decoder imageWidth');
  checkPositiveInt(imageChannels, 'Decoder imageChannels');
  if (!Number.isInteger(seed)) throw new RangeError(`the weight seed must be an integer, got ${seed}`);
  if (!(widen > 0)) throw new RangeError(`Decoder widen must be positive, got ${widen}`);
  const hidden = widened(12, widen, 'Decoder hidden width');
  const init = new Init(seed);
  const first = new ConvBnRelu(3, inChannels, hidden, 1, init, true);
  const w2 = init.conv(3, hidden, imageChannels);
  const b2 = init.uniform([imageChannels], 1 / Math.sqrt(hidden * 9)) as tf.Variable<tf.Rank.R1>;

  return {
    inChannels,
    apply(h: tf.Tensor4D, training: boolean): tf.Tensor4D {
      checkFeatureMap(h, inChannels, 'Decoder');
      return tf.tidy(() => {
        // F.interpolate(..., align_corners=True) at the same size is the identity: skip it then.
        const same = h.shape[1] === imageHeight && h.shape[2] === imageWidth;
        const up = same ? h : tf.image.resizeBilinear(h, [imageHeight, imageWidth], true);
        return tf.sigmoid(tf.add<tf.Tensor4D>(torchConv(first.apply(up, training), w2, 1), b2));
      });
    },
    get trainableVariables() {
      return [...first.trainableVariables, w2, b2];
    },
    get stateVariables() {
      return first.bn.stateVariables;
    },
    dispose() {
      first.dispose();
      tf.dispose([w2, b2]);
    },
  };
}

/** torch.nn.BCELoss clamps each log at -100 and divides its gradient by max(p(1-p), 1e-12). */
const LOG_CLAMP = -100;
const GRAD_EPSILON = 1e-12;

/**
 * Mean binary cross-entropy with torch.nn.BCELoss semantics: value
 * -mean(y * max(log p, -100) + (1 - y) * max(log(1 - p), -100)), gradient with respect to p
 * (p - y) / max(p (1 - p), 1e-12) / count, so p exactly 0 or 1 gives a finite loss and gradient.
 * No gradient flows to the target (BCELoss does not differentiate it).
 */
export function binaryCrossEntropy(p: tf.Tensor, target: tf.Tensor): tf.Scalar {
  if (p.shape.length !== target.shape.length || p.shape.some((d, i) => d !== target.shape[i])) {
    throw new Error(`binaryCrossEntropy needs equal shapes, got [${p.shape.join(',')}] and [${target.shape.join(',')}]`);
  }
  const bce = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [pIn, yIn, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([pIn, yIn]);
    const logP = tf.maximum(tf.log(pIn), LOG_CLAMP);
    const log1mP = tf.maximum(tf.log1p(tf.neg(pIn)), LOG_CLAMP);
    const value = tf.neg(tf.mean(tf.add(tf.mul(yIn, logP), tf.mul(tf.sub(1, yIn), log1mP)))) as tf.Scalar;
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [ps, ys] = saved as [tf.Tensor, tf.Tensor];
        const denom = tf.maximum(tf.mul(ps, tf.sub(1, ps)), GRAD_EPSILON);
        const dp = tf.mul(tf.div(tf.sub(ps, ys), denom), tf.div(dy, ps.size));
        return [dp, tf.zerosLike(ys)];
      },
    };
  });
  return tf.tidy(() => bce(p, target) as tf.Scalar);
}

/**
 * The InfoPro reconstruction loss: BCE(decoded, x * std + mean) with per-channel mean/std
 * (the normalisation the data loader applied; CIFAR's, or 0.5/0.5 for SVHN and STL-10).
 */
export function reconstructionLoss(decoded: tf.Tensor4D, x: tf.Tensor4D, normalization: Normalization): tf.Scalar {
  const channels = x.shape[3];
  if (normalization.mean.length !== channels || normalization.std.length !== channels) {
    throw new Error(`reconstructionLoss: images have ${channels} channels but the normalisation has ${normalization.mean.length} means and ${normalization.std.length} stds`);
  }
  return tf.tidy(() => {
    const target = tf.add(tf.mul(x, tf.tensor1d([...normalization.std])), tf.tensor1d([...normalization.mean]));
    return binaryCrossEntropy(decoded, target);
  });
}
