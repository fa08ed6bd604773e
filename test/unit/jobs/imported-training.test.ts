/**
 * Runs on imported data sets, not only the built-in MNIST: tiny CIFAR-10, SVHN, STL-10 and
 * image-folder files written in their real formats are imported through the catalog, trained
 * through the job system (real job workers, a real SQLite file), evaluated again from the saved
 * weights, and exported; the model card names the data set's own classes, and the exported
 * model scores on the set's test images exactly what the run recorded.
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetCatalog } from '../../../main/data/catalog';
import { selectBackend } from '../../../main/engine/backend/select';
import { exportRun, loadExportedModel, readCard } from '../../../main/engine/export/tfjs-export';
import { evaluateRun } from '../../../main/engine/train/run-training';
import { accuracyOf } from '../../../main/engine/train/train-run';
import { JobManager } from '../../../main/jobs/job-manager';
import { Store } from '../../../main/store';
import { patternSamples, writeCifar10, writeStl10, writeSvhn } from '../../helpers/dataset-files';
import { makeImageFolder } from '../../helpers/image-files';
import { useTempDir } from '../../helpers/temp';

/** One epoch of two steps (one for STL-10's larger images), ResNet-8, every test image scored. */
const TINY = { depth: 8, epochs: 1, batchSize: 10, lr: 0.05, backend: 'wasm' };
const CIFAR_NAMES = ['plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'lorry'];
const STL_NAMES = ['airplane', 'bird', 'car', 'cat', 'deer', 'dog', 'horse', 'monkey', 'ship', 'truck'];

interface Case {
  format: string;
  /** Writes the files into `dir`; returns the folder to import and the classes the card must name. */
  write: (dir: string) => { folder: string; classes: string[]; imageSize?: number };
  config: object;
  shape: [number, number, number];
  testImages: number;
}

/** A colour per class, with a little position-dependent texture, in RGB bytes. */
const classColour = (k: number) => (x: number, y: number) => [k === 0 ? 220 : 30, k === 1 ? 200 : 40 + x, k === 2 ? 210 : 50 + y] as const;

const CASES: Case[] = [
  {
    format: 'CIFAR-10',
    write: (dir) => ({ folder: writeCifar10(dir, { train: patternSamples(20, 32, 32), test: patternSamples(10, 32, 32, 10, 100) }, { classNames: CIFAR_NAMES }), classes: CIFAR_NAMES }),
    config: { method: 'greedy', split: 'per-block' },
    shape: [32, 32, 3],
    testImages: 10,
  },
  {
    format: 'SVHN',
    write: (dir) => {
      writeSvhn(dir, { train: patternSamples(20, 32, 32), test: patternSamples(10, 32, 32, 10, 100) }, { compressed: true });
      return { folder: dir, classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] };
    },
    config: { method: 'e2e' },
    shape: [32, 32, 3],
    testImages: 10,
  },
  {
    format: 'STL-10',
    write: (dir) => ({ folder: writeStl10(dir, { train: patternSamples(10, 96, 96), test: patternSamples(10, 96, 96, 10, 100) }, { subfolder: true }), classes: STL_NAMES }),
    config: { method: 'e2e' },
    shape: [96, 96, 3],
    testImages: 10,
  },
  {
    format: 'image folder',
    write: (dir) => {
      // ImageNet layout, PNG and JPEG of several sizes (resized and centre-cropped to 16x16).
      const images = (k: number, count: number) =>
        Array.from({ length: count }, (_, i) => ({ name: i % 2 ? `${i}.jpg` : `${i}.png`, width: 20 + 3 * i, height: 14 + 2 * k, pixels: classColour(k) }));
      makeImageFolder(dir, { 'train/circle': images(0, 4), 'train/square': images(1, 4), 'train/star': images(2, 4), 'val/circle': images(0, 2), 'val/square': images(1, 2), 'val/star': images(2, 2) });
      return { folder: dir, classes: ['circle', 'square', 'star'], imageSize: 16 };
    },
    config: { method: 'greedy', split: 'per-block' },
    shape: [16, 16, 3],
    testImages: 6,
  },
];

describe('training on imported data sets', () => {
  const tmp = useTempDir();
  let store: Store;
  let jobs: JobManager;
  let datasets: DatasetCatalog;
  let experimentId: number;

  beforeAll(async () => {
    await selectBackend('wasm');
  });
  afterAll(async () => {
    await jobs?.close();
    store?.close();
  });

  it('trains, evaluates and exports a run on each format through the job system', async () => {
    const root = tmp();
    store = Store.open(path.join(root, 'studio.sqlite'));
    const project = store.projects.create({ name: 'imported' });
    experimentId = store.projects.createExperiment({ projectId: project.id, name: 'formats', kind: 'local-learning' }).id;
    datasets = new DatasetCatalog(store);
    jobs = new JobManager({ store, datasets, concurrency: 1 });

    // Import every set, then queue one run on each: the queue trains them one after another.
    const runs: { c: Case; runId: number; datasetId: string; classes: string[] }[] = [];
    for (const c of CASES) {
      const dir = path.join(root, c.format.replace(/\W/g, '-'));
      fs.mkdirSync(dir);
      const { folder, classes, imageSize } = c.write(dir);
      const info = await datasets.import({ path: folder, name: `tiny ${c.format}`, ...(imageSize ? { imageSize } : {}) });
      expect(info.classes).toEqual(classes);
      const runId = jobs.submit({ experimentId, name: `on ${c.format}`, kind: 'local-learning', config: { ...TINY, ...c.config, dataset: info.id } }).id;
      runs.push({ c, runId, datasetId: info.id, classes });
    }

    for (const { c, runId, datasetId, classes } of runs) {
      const outcome = await jobs.wait(runId);
      expect([c.format, outcome.run.status, outcome.run.error]).toEqual([c.format, 'done', null]);
      const recorded = store.metrics.series(runId, 'epoch').find((s) => s.key === 'test_acc')!.values;
      expect(recorded).toHaveLength(1);
      const losses = store.metrics.series(runId, 'step').filter((s) => s.key.startsWith('loss/m'));
      expect(losses.length).toBeGreaterThan(0);
      expect(losses.every((s) => s.values.length >= 1 && s.values.every(Number.isFinite))).toBe(true);

      // Evaluated again from the saved weights: the same accuracy on the same images.
      expect(await evaluateRun({ store, datasets }, runId)).toEqual({ accuracy: recorded[0], images: c.testImages });

      // Exported: the card says what the model is, with the set's class names in label order.
      const out = path.join(root, 'exports', String(runId));
      const exported = await exportRun({ store, datasets }, runId, out);
      const card = readCard(out);
      expect(card).toMatchObject({ runId, dataset: { id: datasetId, name: `tiny ${c.format}` }, classNames: classes, classes: classes.length, inputShape: c.shape, testAccuracy: recorded[0], testImages: c.testImages, backend: 'wasm' });
      expect(exported.card.classNames).toEqual(classes);
      // The exported model, read back as TF.js reads it, scores what the run recorded.
      const model = await loadExportedModel(out);
      try {
        const scored = await accuracyOf((x) => model.predict(x) as tf.Tensor2D, await datasets.open(datasetId), undefined);
        expect(scored).toEqual({ accuracy: recorded[0], images: c.testImages });
      } finally {
        model.dispose();
      }
    }
  }, 240_000);
});
