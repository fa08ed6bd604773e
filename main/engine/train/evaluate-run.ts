/**
 * A finished run's network on its test images, for the run page: the confusion matrix, accuracy
 * per class and a few predictions right and wrong, as images. It runs in a job worker from the
 * saved weights, on exactly the images and the loop (evaluationBatches, eval mode) the run's
 * test accuracy was measured with, so the matrix's diagonal gives that accuracy back.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { PNG } from 'pngjs';
import type { TrainConfig } from '../../../shared/engine/config';
import type { DatasetSource } from '../../data/catalog';
import { preprocessingOf } from '../../data/preprocess';
import type { HostBatch } from '../../data/batches';
import { selectBackend } from '../backend/select';
import { createResNet } from '../nets/resnet-model';
import { openRunDataset } from './run-input';
import { evaluationBatches } from './train-run';
import { loadWeights } from './weights';

export interface RunEvaluationRequest {
  config: TrainConfig;
  dataset: DatasetSource;
  /** The saved weights' folder. */
  weightsPath: string;
  /** Predictions to show of each kind (right, wrong). */
  samples: number;
}

export interface Prediction {
  /** PNG data URL of the image as the network saw it (padding included), before normalisation. */
  image: string;
  label: number;
  predicted: number;
  /** Softmax probability of the predicted class. */
  confidence: number;
}

export interface RunEvaluation {
  backend: string;
  classes: string[];
  images: number;
  accuracy: number;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  /** Accuracy per true class (null for a class without test images). */
  perClass: (number | null)[];
  right: Prediction[];
  wrong: Prediction[];
}

export async function evaluateRunInWorker(request: RunEvaluationRequest): Promise<RunEvaluation> {
  const { config } = request;
  const backend = await selectBackend(config.backend);
  const dataset = await openRunDataset(request.dataset, config);
  const model = createResNet(config.depth, dataset.shape, dataset.classes.length, config.seed);
  try {
    loadWeights(model, request.weightsPath);
    const classes = dataset.classes.length;
    const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
    const right: Prediction[] = [];
    const wrong: Prediction[] = [];
    let images = 0;
    for await (const batch of evaluationBatches(dataset, 'test', config.testLimit)) {
      const { height, width, channels } = batch.shape;
      const x = tf.tensor4d(batch.x, [batch.size, height, width, channels]);
      const probabilities = tf.tidy(() => tf.softmax(model.forward(x, false)));
      const values = (await probabilities.data()) as Float32Array;
      tf.dispose([x, probabilities]);
      for (let i = 0; i < batch.size; i++) {
        const row = values.subarray(i * classes, (i + 1) * classes);
        let predicted = 0;
        for (let c = 1; c < classes; c++) if (row[c]! > row[predicted]!) predicted = c;
        const label = batch.y[i]!;
        confusion[label]![predicted]!++;
        const shown = label === predicted ? right : wrong;
        if (shown.length < request.samples) shown.push({ image: pngOf(batch, i, preprocessingOf(dataset).normalization), label, predicted, confidence: row[predicted]! });
      }
      images += batch.size;
    }
    const correct = confusion.reduce((n, row, c) => n + row[c]!, 0);
    const perClass = confusion.map((row, c) => {
      const total = row.reduce((a, b) => a + b, 0);
      return total ? row[c]! / total : null;
    });
    return { backend: backend.id, classes: [...dataset.classes], images, accuracy: images ? correct / images : 0, confusion, perClass, right, wrong };
  } finally {
    model.dispose();
  }
}

/** Image `i` of a normalised batch back to bytes (x * std + mean), as a PNG data URL. */
function pngOf(batch: HostBatch, i: number, normalization: { mean: readonly number[]; std: readonly number[] }): string {
  const { height, width, channels } = batch.shape;
  const png = new PNG({ width, height });
  const base = i * height * width * channels;
  for (let p = 0; p < height * width; p++) {
    for (let c = 0; c < 3; c++) {
      const ch = channels === 1 ? 0 : c;
      const value = (batch.x[base + p * channels + ch]! * normalization.std[ch]! + normalization.mean[ch]!) * 255;
      png.data[p * 4 + c] = Math.max(0, Math.min(255, Math.round(value)));
    }
    png.data[p * 4 + 3] = 255;
  }
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}
