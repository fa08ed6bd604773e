/**
 * Tensor methods (`t.as3D(...)`, `t.expandDims()`, ...) that face-api calls. The umbrella
 * @tensorflow/tfjs package adds them to Tensor.prototype (tfjs-core's
 * public/chained_ops/register_all_chained_ops), but that file is only in tfjs-core's ES module
 * build, whose extensionless imports Node cannot load, and not in the CommonJS build we run.
 * Each method is `op(this, ...args)`, as there; only methods not already present are added, so
 * the engine's own calls (`tf.op(t)`) are unaffected.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Methods that are exactly `tf[name](this, ...args)` (tfjs-core 4.22's chained ops). */
const SAME_NAME = [
  'abs', 'acos', 'acosh', 'add', 'all', 'any', 'argMax', 'argMin', 'asin', 'asinh', 'atan', 'atan2', 'atanh', 'avgPool',
  'batchToSpaceND', 'batchNorm', 'broadcastTo', 'cast', 'ceil', 'clipByValue', 'conv1d', 'conv2d', 'conv2dTranspose', 'cos',
  'cosh', 'cumprod', 'cumsum', 'depthToSpace', 'depthwiseConv2d', 'dilation2d', 'div', 'divNoNan', 'dot', 'elu', 'equal', 'erf',
  'euclideanNorm', 'exp', 'expandDims', 'expm1', 'fft', 'floor', 'floorDiv', 'gather', 'greater', 'greaterEqual', 'ifft', 'irfft',
  'isFinite', 'isInf', 'isNaN', 'leakyRelu', 'less', 'lessEqual', 'localResponseNormalization', 'log', 'log1p', 'logSigmoid',
  'logSoftmax', 'logSumExp', 'logicalAnd', 'logicalNot', 'logicalOr', 'logicalXor', 'matMul', 'max', 'maxPool', 'maximum', 'mean',
  'min', 'minimum', 'mirrorPad', 'mod', 'mul', 'neg', 'norm', 'notEqual', 'onesLike', 'pad', 'pool', 'pow', 'prelu', 'prod',
  'reciprocal', 'relu', 'relu6', 'reshape', 'reverse', 'rfft', 'round', 'rsqrt', 'selu', 'separableConv2d', 'sigmoid', 'sign',
  'sin', 'sinh', 'slice', 'softmax', 'softplus', 'spaceToBatchND', 'split', 'sqrt', 'square', 'squaredDifference', 'squeeze',
  'step', 'stridedSlice', 'sub', 'sum', 'tan', 'tanh', 'tile', 'topk', 'transpose', 'unique', 'unsortedSegmentSum', 'unstack',
  'zerosLike',
] as const;

type Op = (t: tf.Tensor, ...args: never[]) => unknown;

const asList = (x: tf.Tensor | tf.Tensor[]) => (x instanceof tf.Tensor ? [x] : x);

/** Methods whose body is not `tf[name](this, ...)`. */
const SPECIAL: Record<string, Op> = {
  resizeBilinear: tf.image.resizeBilinear as Op,
  resizeNearestNeighbor: tf.image.resizeNearestNeighbor as Op,
  as1D: (t) => tf.reshape(t, [t.size]),
  flatten: (t) => tf.reshape(t, [t.size]),
  as2D: ((t: tf.Tensor, a: number, b: number) => tf.reshape(t, [a, b])) as Op,
  as3D: ((t: tf.Tensor, a: number, b: number, c: number) => tf.reshape(t, [a, b, c])) as Op,
  as4D: ((t: tf.Tensor, a: number, b: number, c: number, d: number) => tf.reshape(t, [a, b, c, d])) as Op,
  as5D: ((t: tf.Tensor, a: number, b: number, c: number, d: number, e: number) => tf.reshape(t, [a, b, c, d, e])) as Op,
  asScalar: (t) => tf.reshape(t, []),
  asType: ((t: tf.Tensor, dtype: tf.DataType) => tf.cast(t, dtype)) as Op,
  toBool: (t) => tf.cast(t, 'bool'),
  toFloat: (t) => tf.cast(t, 'float32'),
  toInt: (t) => tf.cast(t, 'int32'),
  concat: ((t: tf.Tensor, x: tf.Tensor | tf.Tensor[], axis?: number) => tf.concat([t, ...asList(x)], axis)) as Op,
  stack: ((t: tf.Tensor, x: tf.Tensor | tf.Tensor[], axis?: number) => tf.stack([t, ...asList(x)], axis)) as Op,
  oneHot: ((t: tf.Tensor, depth: number, on = 1, off = 0) => tf.oneHot(t as tf.Tensor1D, depth, on, off)) as Op,
  reshapeAs: ((t: tf.Tensor, x: tf.Tensor) => tf.reshape(t, x.shape)) as Op,
  where: ((t: tf.Tensor, condition: tf.Tensor, x: tf.Tensor) => tf.where(condition, t, x)) as Op,
};

let registered = false;

export function registerChainedOps(): void {
  if (registered) return;
  registered = true;
  const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
  const ops: Record<string, Op> = { ...SPECIAL };
  for (const name of SAME_NAME) ops[name] = (tf as unknown as Record<string, Op>)[name]!;
  for (const [name, op] of Object.entries(ops)) {
    if (name in proto) continue;
    proto[name] = function (this: tf.Tensor, ...args: never[]) {
      this.throwIfDisposed();
      return op(this, ...args);
    };
  }
}
