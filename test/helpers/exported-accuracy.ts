/** Accuracy of an exported TF.js model on the same MNIST test images a run was scored on. */
import * as tf from '@tensorflow/tfjs-core';
import { openMnist } from '../../main/data/mnist';
import { loadExportedModel } from '../../main/engine/export/tfjs-export';
import { testBatches } from '../../main/engine/train/train-run';

export async function exportedAccuracy(dir: string, testLimit: number | undefined): Promise<{ accuracy: number; images: number }> {
  const loaded = await loadExportedModel(dir);
  let correct = 0;
  let seen = 0;
  for await (const batch of testBatches(openMnist(), testLimit)) {
    const x = tf.tensor4d(batch.x, [batch.size, 28, 28, 1]);
    const predicted = tf.tidy(() => tf.argMax(loaded.predict(x) as tf.Tensor2D, 1));
    const labels = await predicted.data();
    correct += batch.y.filter((label, i) => labels[i] === label).length;
    seen += batch.size;
    tf.dispose([x, predicted]);
  }
  loaded.dispose();
  return { accuracy: seen ? correct / seen : 0, images: seen };
}
