/**
 * The task losses of the auxiliary nets (../../../../shared/docs/methods.md 0.3 "Contrast mode",
 * 4.2 L_task = SupCon with tau 0.07 ("Contrast") or cross-entropy ("Softmax")):
 *
 *   crossEntropy  torch.nn.CrossEntropyLoss (mean over the batch), via a max-shifted logsumexp.
 *   supConLoss    the InfoPro/HPFF/MAN SupConLoss with a single view: L2-normalise (as
 *                 F.normalize, eps 1e-12), logits z_a.z_p / tau minus the row max, the sample
 *                 itself excluded from numerator and denominator, positives = other samples
 *                 with the same label, per anchor -(tau / tau_base) * mean over positives of the
 *                 log-softmax, an anchor without positives contributes 0 (its count clamped to
 *                 1), mean over anchors.
 *
 * Labels are an int32 tensor [N] or plain numbers; plain numbers are checked to be whole and in
 * range (a tensor is not read back, to keep the step free of a device sync).
 */
import * as tf from '@tensorflow/tfjs-core';

export type Labels = tf.Tensor1D | readonly number[] | Int32Array;

/** The labels as an int32 tensor (a new one, inside the caller's tidy), checked against n and classes. */
function labelTensor(labels: Labels, n: number, classes: number | null, who: string): tf.Tensor1D {
  if (labels instanceof tf.Tensor) {
    if (labels.rank !== 1 || labels.shape[0] !== n) throw new Error(`${who}: labels must have shape [${n}], got [${labels.shape.join(',')}]`);
    if (labels.dtype !== 'int32') throw new Error(`${who}: label tensor must be int32, got ${labels.dtype}`);
    return tf.clone(labels);
  }
  if (labels.length !== n) throw new Error(`${who}: ${n} samples but ${labels.length} labels`);
  labels.forEach((y, i) => {
    if (!Number.isInteger(y) || y < 0 || (classes !== null && y >= classes)) {
      throw new Error(`${who}: label ${i} is ${y}, expected a whole number in [0, ${classes === null ? 'inf' : classes - 1}]`);
    }
  });
  return tf.tensor1d(Array.from(labels), 'int32');
}

/** Mean cross-entropy of logits [N, K] against class indices, as torch.nn.CrossEntropyLoss. */
export function crossEntropy(logits: tf.Tensor2D, labels: Labels): tf.Scalar {
  if (logits.rank !== 2) throw new Error(`crossEntropy: logits must be [N, classes], got [${logits.shape.join(',')}]`);
  const [n, classes] = logits.shape;
  return tf.tidy(() => {
    const y = labelTensor(labels, n, classes, 'crossEntropy');
    // log-softmax = z - logsumexp(z); tf.logSumExp subtracts the row max, so large logits stay finite.
    const logProb = tf.sub(logits, tf.logSumExp(logits, 1, true));
    const picked = tf.sum(tf.mul(logProb, tf.oneHot(y, classes)), 1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}

/** F.normalize(z, dim=1): z / max(||z||, 1e-12). */
export function l2Normalize(z: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(z, tf.maximum(tf.sqrt(tf.sum(tf.square(z), 1, true)), 1e-12)));
}

/** Single-view supervised contrastive loss of features [N, D] (see the file comment). */
export function supConLoss(features: tf.Tensor2D, labels: Labels, temperature = 0.07, baseTemperature = 0.07): tf.Scalar {
  if (features.rank !== 2) throw new Error(`supConLoss: features must be [N, D], got [${features.shape.join(',')}]`);
  const n = features.shape[0];
  // With one sample the denominator is an empty sum and PyTorch returns NaN; refuse instead.
  if (n < 2) throw new Error(`supConLoss needs at least 2 samples, got ${n}`);
  if (!(temperature > 0) || !(baseTemperature > 0)) throw new RangeError(`supConLoss temperatures must be positive, got ${temperature} and ${baseTemperature}`);
  return tf.tidy(() => {
    const y = labelTensor(labels, n, null, 'supConLoss');
    const z = l2Normalize(features);
    const sim = tf.div(tf.matMul(z, z, false, true), temperature);
    // The reference detaches the max; log-softmax is shift-invariant, so its gradient is 0 either way.
    const logits = tf.sub(sim, tf.max(sim, 1, true));
    const notSelf = tf.sub(1, tf.eye(n));
    const positive = tf.mul(tf.cast(tf.equal(tf.expandDims(y, 1), tf.expandDims(y, 0)), 'float32'), notSelf);
    const logProb = tf.sub(logits, tf.log(tf.sum(tf.mul(tf.exp(logits), notSelf), 1, true)));
    const count = tf.sum(positive, 1);
    const clamped = tf.where(tf.less(count, 1e-6), tf.onesLike(count), count);
    const meanLogProbPos = tf.div(tf.sum(tf.mul(positive, logProb), 1), clamped);
    return tf.mean(tf.mul(meanLogProbPos, -(temperature / baseTemperature))) as tf.Scalar;
  });
}
