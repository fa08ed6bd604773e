/**
 * Fused training ops that a backend may implement as single kernels: training-mode BatchNorm
 * (optionally + residual + ReLU, running statistics updated in the same pass) with its own
 * one-kernel gradient, and one SGD update of a parameter and its momentum buffer.
 *
 * Composed of stock ops these cost dozens of kernel calls each (moments, broadcasts, the
 * broadcast gradients' Sum reductions and the tape bookkeeping of each); on the wasm backend
 * they dominated the step (shared/docs/PLATFORM.md, "Where a wasm training step's time goes").
 * Only a backend that registers the kernel gets the fused path (today 'wasm', see
 * ./wasm-fused-kernels.ts); callers check `hasFusedKernel` and keep the composed ops otherwise,
 * so the cpu and webgpu backends run the stock kernels and stay the reference.
 *
 * This module names the kernels, defines their inputs, attributes and outputs, and registers
 * the gradient of the BatchNorm kernel (gradients are backend-independent in tfjs).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Training-mode BatchNorm over the last axis, optionally + residual, optionally ReLU. */
export const BATCH_NORM_TRAIN = 'BlockwiseBatchNormTrain';
/** Its gradient: dx, dgamma, dbeta (and the residual's gradient) in one kernel. */
export const BATCH_NORM_TRAIN_GRAD = 'BlockwiseBatchNormTrainGrad';
/** One torch.optim.SGD update of one parameter (and its momentum buffer). */
export const SGD_UPDATE = 'BlockwiseSgdUpdate';

/**
 * Attributes of BATCH_NORM_TRAIN. Inputs: x [..., C], gamma [C], beta [C], runningMean [C],
 * runningVar [C] and, when `residual` is true, residual (x's shape). Outputs, in order: y (x's
 * shape) = act(gamma * (x - mean) / sqrt(var + epsilon) + beta [+ residual]), the batch mean
 * [C], the biased batch variance [C], and the new running mean and running variance [C]
 * (running = (1 - momentum) * running + momentum * batch, the variance unbiased by M / (M - 1)
 * with M the number of values per channel), as torch.nn.BatchNorm2d in train().
 */
export interface BatchNormTrainAttrs {
  epsilon: number;
  momentum: number;
  /** Apply ReLU after the (residual) sum. */
  relu: boolean;
  /** Whether the `residual` input is given. */
  residual: boolean;
}

/**
 * Attributes of BATCH_NORM_TRAIN_GRAD. Inputs: dy, x, gamma, mean, variance, y (the forward's
 * output, for the ReLU mask). Outputs: dx, dgamma [C], dbeta [C] and, when `residual`, the
 * residual's gradient (dy masked by the ReLU).
 */
export interface BatchNormTrainGradAttrs {
  epsilon: number;
  relu: boolean;
  residual: boolean;
}

/**
 * Attributes of SGD_UPDATE. Inputs: param, grad and, unless this is the parameter's first step
 * with momentum, buffer (all of param's shape). Outputs: the new param and, when momentum > 0,
 * the new buffer. See ../train/sgd.ts for the update rule.
 */
export interface SgdUpdateAttrs {
  lr: number;
  momentum: number;
  weightDecay: number;
  dampening: number;
  nesterov: boolean;
}

/** Whether the active backend implements the fused kernel `name`. */
export function hasFusedKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) != null;
}

export interface BatchNormTrainResult<T extends tf.Tensor> {
  y: T;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
  runningMean: tf.Tensor1D;
  runningVar: tf.Tensor1D;
}

/**
 * BATCH_NORM_TRAIN on the active backend. Differentiable with respect to x, gamma, beta and
 * residual through `y` only: the returned statistics are for the running averages and carry no
 * gradient.
 */
export function batchNormTrain<T extends tf.Tensor>(
  x: T,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  runningMean: tf.Tensor1D,
  runningVar: tf.Tensor1D,
  residual: T | null,
  attrs: { epsilon: number; momentum: number; relu: boolean },
): BatchNormTrainResult<T> {
  ensureGradientRegistered();
  const inputs: tf.NamedTensorMap = { x, gamma, beta, runningMean, runningVar };
  if (residual) inputs.residual = residual;
  const full: BatchNormTrainAttrs = { ...attrs, residual: residual !== null };
  const out = tf.engine().runKernel(BATCH_NORM_TRAIN, inputs, full as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { y: out[0] as T, mean: out[1] as tf.Tensor1D, variance: out[2] as tf.Tensor1D, runningMean: out[3] as tf.Tensor1D, runningVar: out[4] as tf.Tensor1D };
}

/** SGD_UPDATE on the active backend: [newParam, newBuffer?]. `buffer` null on a first step. */
export function sgdUpdate(param: tf.Tensor, grad: tf.Tensor, buffer: tf.Tensor | null, attrs: SgdUpdateAttrs): { param: tf.Tensor; buffer: tf.Tensor | null } {
  const inputs: tf.NamedTensorMap = { param, grad };
  if (buffer) inputs.buffer = buffer;
  const out = tf.engine().runKernel(SGD_UPDATE, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { param: out[0]!, buffer: out[1] ?? null };
}

let gradientRegistered = false;

/**
 * The gradient of BATCH_NORM_TRAIN: one BATCH_NORM_TRAIN_GRAD call gives every input's
 * gradient. tfjs calls gradFunc once per node, outside the per-input tidy, so the kernel runs
 * once here; gradients nobody asks for die with the backward pass's tidy.
 */
function ensureGradientRegistered(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAIN,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [true, true, true, false, false],
    gradFunc: (dys, saved, attrs) => {
      const a = attrs as unknown as BatchNormTrainAttrs;
      const [x, gamma, y, mean, variance] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor, tf.Tensor1D, tf.Tensor1D];
      // Only y reaches a loss; the statistics' dys are null (or ignored, see batchNormTrain).
      const dy = (Array.isArray(dys) ? dys[0] : dys) ?? tf.zerosLike(y);
      const gradAttrs: BatchNormTrainGradAttrs = { epsilon: a.epsilon, relu: a.relu, residual: a.residual };
      const out = tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { dy, x, gamma, mean, variance, y }, gradAttrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      const [dx, dgamma, dbeta, dresidual] = out as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
      return {
        x: () => dx,
        gamma: () => dgamma,
        beta: () => dbeta,
        residual: () => dresidual ?? tf.zerosLike(x),
        runningMean: () => tf.zerosLike(mean),
        runningVar: () => tf.zerosLike(variance),
      };
    },
  });
}
