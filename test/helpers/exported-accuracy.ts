/** Accuracy of an exported TF.js model on the same MNIST test images a run was scored on. */
import type * as tf from '@tensorflow/tfjs-core';
import { openMnist } from '../../main/data/mnist';
import { loadExportedModel } from '../../main/engine/export/tfjs-export';
import { accuracyOf } from '../../main/engine/train/train-run';

export async function exportedAccuracy(dir: string, testLimit: number | undefined): Promise<{ accuracy: number; images: number }> {
  const loaded = await loadExportedModel(dir);
  try {
    return await accuracyOf((x) => loaded.predict(x) as tf.Tensor2D, openMnist(), testLimit);
  } finally {
    loaded.dispose();
  }
}
