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
 * inputs smaller than 8, where bins overlap or repeat) it is two matrix products with the
 * bin-averaging matrices (rows, then columns), which is the same average and differentiable.
 *
 * For speed (same maths): the 1x1 convs run as matrix products over the pixels and every ReLU
 * after a BatchNorm is fused into it (one kernel each way on the wasm backend).
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
function binMatrix(size: number, out: number): Float32Array {
  const values = new Float32Array(out * size);
  for (let i = 0; i < out; i++) {
    const start = Math.floor((i * size) / out);
    const end = Math.ceil(((i + 1) * size) / out);
    for (let j = start; j < end; j++) values[i * size + j] = 1 / (end - start);
  }
  return values;
}

/** torch.nn.AdaptiveAvgPool2d(out) on NHWC. */
export function adaptiveAvgPool(x: tf.Tensor4D, out: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.tidy(() => {
    if (h % out === 0 && w % out === 0) return tf.avgPool(x, [h / out, w / out], [h / out, w / out], 'valid');
    // Separable, rows then columns, each one GEMM with its bin matrix broadcast over the batch:
    // [out, H] @ each image's [H, W*C], then [out, W] @ each pooled row's [W, C]. NHWC keeps both
    // operands contiguous (no transposes), and it costs out*(H*W + out*W)*C multiply-adds per
    // image where the one [out*out, H*W] matrix cost out*out*H*W*C (6x more at 28x28).
    const bins = (size: number): tf.Tensor3D => tf.tensor3d(binMatrix(size, out), [1, out, size]);
    const rows = tf.matMul(bins(h), tf.reshape(x, [n, h, w * c]) as tf.Tensor3D);
    const cells = tf.matMul(bins(w), tf.reshape(rows, [n * out, w, c]) as tf.Tensor3D);
    return tf.reshape(cells, [n, out, out, c]) as tf.Tensor4D;
  });
}

/**
 * conv 1x1 -> BN -> ReLU of a ConvBnRelu, with the 1x1 conv as a matrix product over the pixels
 * ([N*H*W, C_in] @ [C_in, C_out]: the same sums as the conv, and on the wasm backend its
 * gradients run as SIMD GEMMs) and the ReLU fused into the BatchNorm kernel where there is one.
 */
function conv1x1BnRelu(x: tf.Tensor4D, layer: ConvBnRelu, training: boolean): tf.Tensor4D {
  const [n, h, w, cin] = x.shape;
  const weight = tf.reshape(layer.weight, [cin, layer.cout]) as tf.Tensor2D;
  let y = tf.matMul(tf.reshape(x, [n * h * w, cin]) as tf.Tensor2D, weight);
  if (layer.bias) y = tf.add(y, layer.bias);
  return layer.bn.apply(tf.reshape(y, [n, h, w, layer.cout]) as tf.Tensor4D, training, { relu: true });
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
        for (const c of convs) x = conv1x1BnRelu(x, c, training);
        let y = tf.mean(x, [1, 2]) as tf.Tensor2D;
        for (const { linear, bn } of hidden) {
          // BatchNorm1d over the batch: the 4-D BatchNorm on [N, 1, 1, C] normalises over N.
          const z = bn.apply(tf.reshape(linear.apply(y), [-1, 1, 1, MLP_WIDTH]) as tf.Tensor4D, training, { relu: true });
          y = tf.reshape(z, [-1, MLP_WIDTH]) as tf.Tensor2D;
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
