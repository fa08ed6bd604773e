/** Host batches as TF.js tensors, for the engine. The caller disposes them (or runs inside tf.tidy). */
import * as tf from '@tensorflow/tfjs-core';
import { type BatchOptions, type HostBatch, iterateBatches } from './batches';
import type { Dataset, SplitName } from './types';

export interface TensorBatch {
  /** [N, H, W, C] float32, normalised. */
  x: tf.Tensor4D;
  /** [N] int32 class indices. */
  y: tf.Tensor1D;
}

export function toTensors({ x, y, size, shape }: HostBatch): TensorBatch {
  return { x: tf.tensor4d(x, [size, shape.height, shape.width, shape.channels], 'float32'), y: tf.tensor1d(y, 'int32') };
}

export async function* tensorBatches(dataset: Dataset, split: SplitName, options: BatchOptions): AsyncGenerator<TensorBatch> {
  for await (const batch of iterateBatches(dataset, split, options)) yield toTensors(batch);
}
