/**
 * BatchNorm over NHWC feature maps with PyTorch's BatchNorm2d semantics, built from plain
 * tfjs-core ops and tf.Variables so a local-learning trainer decides which variables a loss
 * differentiates. The papers' numbers were produced with PyTorch, so the details follow it:
 * batch statistics over N, H, W with the biased variance for normalising, running statistics
 * updated with momentum 0.1 using the unbiased variance, eps 1e-5, and running statistics in
 * eval mode.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_TRAIN, batchNormTrain, hasFusedKernel } from '../backend/fused-ops';

export const BN_MOMENTUM = 0.1;
export const BN_EPSILON = 1e-5;

export interface BatchNormApplyOptions {
  /** Added to the normalised output (same shape as the input), before the ReLU: a ResNet block's skip path. */
  residual?: tf.Tensor4D;
  /** Apply ReLU to the result. Default false. */
  relu?: boolean;
}

export class BatchNorm {
  /** Scale, trainable, initialised to 1. */
  readonly gamma: tf.Variable<tf.Rank.R1>;
  /** Shift, trainable, initialised to 0. */
  readonly beta: tf.Variable<tf.Rank.R1>;
  /** Running statistics: not trainable, updated by every training-mode forward. */
  readonly runningMean: tf.Variable<tf.Rank.R1>;
  readonly runningVar: tf.Variable<tf.Rank.R1>;

  constructor(
    readonly channels: number,
    readonly momentum = BN_MOMENTUM,
    readonly epsilon = BN_EPSILON,
  ) {
    if (!(Number.isInteger(channels) && channels >= 1)) throw new RangeError(`BatchNorm needs a positive whole number of channels, got ${channels}`);
    if (!(momentum > 0 && momentum <= 1)) throw new RangeError(`BatchNorm momentum must be in (0, 1], got ${momentum}`);
    if (!(epsilon > 0)) throw new RangeError(`BatchNorm epsilon must be positive, got ${epsilon}`);
    // tf.variable keeps the tensor it is given; tidy frees the temporaries around it.
    [this.gamma, this.beta, this.runningMean, this.runningVar] = tf.tidy(() => [
      tf.variable(tf.ones([channels]), true),
      tf.variable(tf.zeros([channels]), true),
      // PyTorch starts running_mean at 0 and running_var at 1.
      tf.variable(tf.zeros([channels]), false),
      tf.variable(tf.ones([channels]), false),
    ]);
  }

  get trainableVariables(): tf.Variable[] {
    return [this.gamma, this.beta];
  }

  /** The running statistics, for checkpoints and for copying a trained state. */
  get stateVariables(): tf.Variable[] {
    return [this.runningMean, this.runningVar];
  }

  /**
   * Normalise `x` [N, H, W, C], then add `residual` and apply ReLU when asked:
   * act(bn(x) + residual). In training mode this also updates the running statistics, as a
   * PyTorch forward in train() does; a forward run twice updates them twice.
   *
   * In training mode on a backend with the fused kernel (the wasm backend, see
   * ../backend/fused-ops.ts) the whole of it is one kernel with a one-kernel gradient; otherwise
   * (cpu, webgpu, and eval mode everywhere) it is composed of stock ops. Both compute the same.
   */
  apply(x: tf.Tensor4D, training: boolean, options: BatchNormApplyOptions = {}): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    if (c !== this.channels) throw new Error(`BatchNorm expects ${this.channels} channels, got input of shape [${x.shape.join(',')}]`);
    const residual = options.residual ?? null;
    if (residual && !tf.util.arraysEqual(residual.shape, x.shape)) {
      throw new Error(`BatchNorm residual must have the input's shape [${x.shape.join(',')}], got [${residual.shape.join(',')}]`);
    }
    const relu = options.relu ?? false;
    return tf.tidy(() => {
      if (!training) return this.finish(this.normalise(x, this.runningMean, this.runningVar), residual, relu);
      const count = n * h * w;
      // PyTorch refuses too: the unbiased variance of one value is undefined.
      if (count < 2) throw new Error(`BatchNorm in training mode needs more than 1 value per channel, got input of shape [${x.shape.join(',')}]`);
      if (hasFusedKernel(BATCH_NORM_TRAIN)) {
        const out = batchNormTrain(x, this.gamma, this.beta, this.runningMean, this.runningVar, residual, { epsilon: this.epsilon, momentum: this.momentum, relu });
        this.runningMean.assign(out.runningMean);
        this.runningVar.assign(out.runningVar);
        return out.y;
      }
      // Biased variance (divide by N*H*W) for normalising; gradients flow through both statistics.
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      // Running stats get the unbiased variance (divide by N*H*W - 1), as torch.nn.BatchNorm2d.
      // These values never reach the loss, so they add nothing to any gradient.
      const unbiased = tf.mul(variance, count / (count - 1));
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - this.momentum), tf.mul(mean, this.momentum)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - this.momentum), tf.mul(unbiased, this.momentum)));
      return this.finish(this.normalise(x, mean as tf.Tensor1D, variance as tf.Tensor1D), residual, relu);
    });
  }

  private finish(y: tf.Tensor4D, residual: tf.Tensor4D | null, relu: boolean): tf.Tensor4D {
    const sum = residual ? tf.add<tf.Tensor4D>(y, residual) : y;
    return relu ? tf.relu(sum) : sum;
  }

  private normalise(x: tf.Tensor4D, mean: tf.Tensor1D, variance: tf.Tensor1D): tf.Tensor4D {
    // (x - mean) / sqrt(var + eps) * gamma + beta, broadcast over the channel (last) axis.
    const scale = tf.mul(tf.rsqrt(tf.add(variance, this.epsilon)), this.gamma);
    return tf.add(tf.mul(tf.sub(x, mean), scale), this.beta);
  }

  dispose(): void {
    tf.dispose([this.gamma, this.beta, this.runningMean, this.runningVar]);
  }
}
