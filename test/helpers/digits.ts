/** A batch of real MNIST training digits as tensors (normalised NHWC, int32 labels). */
import * as tf from '@tensorflow/tfjs-core';
import { iterateBatches } from '../../main/data/batches';
import { openMnist } from '../../main/data/mnist';

export const MNIST_INPUT = { height: 28, width: 28, channels: 1 };

export async function digits(batchSize: number, epoch = 0): Promise<{ x: tf.Tensor4D; y: tf.Tensor1D }> {
  const batch = (await iterateBatches(openMnist(), 'train', { batchSize, shuffle: true, seed: 5, epoch, augment: false }).next()).value!;
  return { x: tf.tensor4d(batch.x, [batch.size, 28, 28, 1]), y: tf.tensor1d(batch.y, 'int32') };
}
