/**
 * The DGL auxiliary head as this group uses it ([MAN++-code] auxDGL.py;
 * ../../../../shared/docs/methods.md 0.3 "DGL auxiliary head", 4.1 DGL):
 *
 *   adaptive average pool to 8x8
 *   -> three 1x1 convs C -> 128 -> 128 -> 128, each BN + ReLU
 *   -> global average pool
 *   -> three Linear 128 -> 512 -> 512 -> 512, each BN1d + ReLU
 *   -> Linear 512 -> classes (trained with cross-entropy; no decoder).
 *
 * Adaptive pooling follows torch.nn.AdaptiveAvgPool2d exactly: output cell i averages input
 * rows floor(i*H/8) .. ceil((i+1)*H/8)-1 (and the same for columns). When H and W are
 * multiples of 8 that is an avgPool with kernel = stride = H/8; otherwise (MNIST's 28/14/7, or
 * inputs smaller than 8, where bins overlap or repeat) it is computed as two matrix products
 * with the bin-averaging matrices, which is the same average and differentiable.
 *
 * Not stated by the spec and chosen here: the 1x1 convs have no bias by default (each is
 * followed by BN, which cancels a bias in training mode; `convBias: true` gives nn.Conv2d's
 * default); the Linear layers keep nn.Linear's bias. Init as the reference's init loop.
 * BN1d is ../nets/batch-norm.ts BatchNorm on [N, 1, 1, C]: the same statistics over N.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm } from '../nets/batch-norm';
import { Init } from '../nets/resnet-model';
import { type AuxModule, checkFeatureMap, checkPositiveInt, ConvBnRelu, Linear } from './aux-classifier';

export const DGL_POOL_SIZE = 8;
const CONV_WIDTH = 128;
const MLP_WIDTH = 512;

export interface DglHeadOptions {
  inChannels: number;
  classes: number;
  /** Bias on the three 1x1 convs; default false (see the file comment). */
  convBias?: boolean;
  seed: number;
}

export interface DglHead extends AuxModule {
  readonly inChannels: number;
  /** h [N, H, W, inChannels] -> logits [N, classes]. */
  apply(h: tf.Tensor4D, training: boolean): tf.Tensor2D;
}

/** [out, size] matrix whose row i averages PyTorch's adaptive-pool bin i of a length-`size` axis. */
function binMatrix(size: number, out: number): tf.Tensor2D {
  const values = new Float32Array(out * size);
  for (let i = 0; i < out; i++) {
    const start = Math.floor((i * size) / out);
    const end = Math.ceil(((i + 1) * size) / out);
    for (let j = start; j < end; j++) values[i * size + j] = 1 / (end - start);
  }
  return tf.tensor2d(values, [out, size]);
}

/** torch.nn.AdaptiveAvgPool2d(out) on NHWC. */
export function adaptiveAvgPool(x: tf.Tensor4D, out: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.tidy(() => {
    if (h % out === 0 && w % out === 0) return tf.avgPool(x, [h / out, w / out], [h / out, w / out], 'valid');
    // Rows: [N, H, W*C] -> [N, out, W*C] by the bin matrix; then the same over columns.
    const rows = tf.matMul(tf.tile(tf.expandDims(binMatrix(h, out), 0), [n, 1, 1]) as tf.Tensor3D, tf.reshape(x, [n, h, w * c]) as tf.Tensor3D);
    const byCol = tf.transpose(tf.reshape(rows, [n, out, w, c]), [0, 2, 1, 3]); // [N, W, out, C]
    const cols = tf.matMul(tf.tile(tf.expandDims(binMatrix(w, out), 0), [n, 1, 1]) as tf.Tensor3D, tf.reshape(byCol, [n, w, out * c]) as tf.Tensor3D);
    return tf.transpose(tf.reshape(cols, [n, out, out, c]), [0, 2, 1, 3]) as tf.Tensor4D;
  });
}

export function createDglHead(options: DglHeadOptions): DglHead {
  const { inChannels, classes, convBias = false, seed } = options;
  checkPositiveInt(inChannels, 'DGL head inChannels');
  checkPositiveInt(classes, 'DGL head classes');
  if (!Number.isInteger(seed)) throw new RangeError(`the weight seed must be an integer, got ${seed}`);
  const init = new Init(seed);
  const convs = [0, 1, 2].map((i) => new ConvBnRelu(1, i === 0 ? inChannels : CONV_WIDTH, CONV_WIDTH, 1, init, convBias));
  const hidden = [0, 1, 2].map((i) => ({ linear: new Linear(i === 0 ? CONV_WIDTH : MLP_WIDTH, MLP_WIDTH, init), bn: new BatchNorm(MLP_WIDTH) }));
  const last = new Linear(MLP_WIDTH, classes, init);

  return {
    inChannels,
    apply(h: tf.Tensor4D, training: boolean): tf.Tensor2D {
      checkFeatureMap(h, inChannels, 'DGL head');
      return tf.tidy(() => {
        let x = adaptiveAvgPool(h, DGL_POOL_SIZE);
        for (const c of convs) x = c.apply(x, training);
        let y = tf.mean(x, [1, 2]) as tf.Tensor2D;
        for (const { linear, bn } of hidden) {
          // BatchNorm1d over the batch: the 4-D BatchNorm on [N, 1, 1, C] normalises over N.
          const z = bn.apply(tf.reshape(linear.apply(y), [-1, 1, 1, MLP_WIDTH]) as tf.Tensor4D, training);
          y = tf.relu(tf.reshape(z, [-1, MLP_WIDTH])) as tf.Tensor2D;
        }
        return last.apply(y);
      });
    },
    get trainableVariables() {
      return [...convs.flatMap((c) => c.trainableVariables), ...hidden.flatMap(({ linear, bn }) => [...linear.variables, ...bn.trainableVariables]), ...last.variables];
    },
    get stateVariables() {
      return [...convs.flatMap((c) => c.bn.stateVariables), ...hidden.flatMap(({ bn }) => bn.stateVariables)];
    },
    dispose() {
      for (const c of convs) c.dispose();
      for (const { linear, bn } of hidden) {
        linear.dispose();
        bn.dispose();
      }
      last.dispose();
    },
  };
}
