/**
 * Exporting the deployable network as a standard TF.js layers model: the folder read back by
 * tf.loadLayersModel predicts the same logits as our model in eval mode (real MNIST digits, and
 * random images whose stride-2 layers pad even and odd sizes and use projection shortcuts), the
 * card says what the model is, and `blockwise export` exports a trained run that then scores
 * the accuracy the run recorded, refusing runs without weights and folders in use.
 */
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCli } from '../../../main/cli/args';
import { openMnist } from '../../../main/data/mnist';
import { PREPROCESSING } from '../../../main/data/preprocess';
import { selectBackend } from '../../../main/engine/backend/select';
import { toLayersModel } from '../../../main/engine/export/layers-model';
import { CARD_FILE, checkExportDir, exportModel, loadExportedModel, MODEL_FILE, readCard, SHARD_FILE, type TrainingFacts } from '../../../main/engine/export/tfjs-export';
import { createResNet, type ResNetModel } from '../../../main/engine/nets/resnet-model';
import { LocalTrainer } from '../../../main/engine/train/local-trainer';
import { buildCli } from '../../helpers/cli';
import { exportedAccuracy } from '../../helpers/exported-accuracy';
import { testBatches } from '../../../main/engine/train/train-run';
import { SgdNesterov } from '../../../main/engine/train/sgd';
import { Store } from '../../../main/store';
import type { InputShape } from '../../../shared/engine/resnet';
import { digits, MNIST_INPUT } from '../../helpers/digits';
import { useTempDir } from '../../helpers/temp';

/** A few end-to-end SGD steps, so BatchNorm's running statistics and the weights are far from their initial values. */
function train(model: ResNetModel, batches: { x: tf.Tensor4D; y: tf.Tensor1D }[]): void {
  const trainer = new LocalTrainer({ model, method: 'e2e', cuts: [], normalization: PREPROCESSING.mnist.normalization, seed: 1 });
  const sgd = new SgdNesterov({ lr: 0.05 });
  for (const { x, y } of batches) tf.dispose(trainer.step(x, y, sgd));
  sgd.dispose();
  trainer.dispose();
}

/** Largest |a - b| over two same-shaped tensors. */
async function maxDifference(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const value = (await d.data())[0]!;
  d.dispose();
  return value;
}

/** Logits of the exported model and of ours in eval mode, for the same images. */
async function bothLogits(model: ResNetModel, dir: string, x: tf.Tensor4D): Promise<[tf.Tensor, tf.Tensor]> {
  const loaded = await loadExportedModel(dir);
  const exported = loaded.predict(x) as tf.Tensor;
  loaded.dispose();
  return [exported, model.forward(x, false)];
}

const FACTS: TrainingFacts = {
  runId: 7,
  method: 'dgl',
  split: 'per-block',
  cuts: [[1, 0], [2, 0]],
  dataset: { id: 'mnist', name: 'MNIST' },
  classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  normalization: PREPROCESSING.mnist.normalization,
  testAccuracy: 0.5,
  bestTestAccuracy: 0.625,
  testImages: 64,
  backend: 'wasm',
};

interface TopologyLayer {
  class_name: string;
  config: { name: string; strides?: number[]; padding?: string | number[][]; epsilon?: number; use_bias?: boolean };
}

function topologyLayers(dir: string): TopologyLayer[] {
  const json = JSON.parse(fs.readFileSync(path.join(dir, MODEL_FILE), 'utf8')) as { modelTopology: { config: { layers: TopologyLayer[] } } };
  return json.modelTopology.config.layers;
}

describe('TF.js export', () => {
  const tmp = useTempDir();

  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('ResNet-8 on MNIST: the loaded model gives our eval-mode logits on real digits, and the card and files say what it is', async () => {
    const model = createResNet(8, MNIST_INPUT, 10, 3);
    const batches = [await digits(32, 0), await digits(32, 1)];
    train(model, batches);
    // The running statistics moved away from PyTorch's start (0 and 1), so eval mode uses them.
    const stats = await Promise.all(model.stateVariables().map((v) => v.data()));
    expect(Math.max(...stats.filter((_, i) => i % 2 === 0).map((m) => Math.max(...Array.from(m, Math.abs))))).toBeGreaterThan(1e-2);

    const dir = path.join(tmp(), 'model');
    const date = new Date('2026-01-02T03:04:05Z');
    const result = await exportModel(model, dir, FACTS, date);
    expect(fs.readdirSync(dir).sort()).toEqual([CARD_FILE, SHARD_FILE, MODEL_FILE].sort());
    expect(result.files.map((f) => f.name).sort()).toEqual(fs.readdirSync(dir).sort());
    expect(result.bytes).toBe(result.files.reduce((n, f) => n + fs.statSync(path.join(dir, f.name)).size, 0));

    // Standard model.json: one shard holding every backbone and head tensor, nothing else.
    const json = JSON.parse(fs.readFileSync(path.join(dir, MODEL_FILE), 'utf8')) as tf.io.ModelJSON;
    expect(json).toMatchObject({ format: 'layers-model', generatedBy: expect.stringMatching(/^TensorFlow\.js tfjs-layers v4\./), convertedBy: expect.stringMatching(/^Blockwise Studio \d/) });
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0]!.paths).toEqual([SHARD_FILE]);
    const ours = [...model.trainableVariables(), ...model.stateVariables()];
    expect(json.weightsManifest[0]!.weights).toHaveLength(ours.length);
    expect(fs.statSync(path.join(dir, SHARD_FILE)).size).toBe(ours.reduce((n, v) => n + v.size, 0) * 4);
    const layers = topologyLayers(dir);
    expect(layers.filter((l) => l.class_name === 'BatchNormalization').every((l) => l.config.epsilon === 1e-5)).toBe(true);
    expect(layers.filter((l) => l.class_name === 'Conv2D').every((l) => l.config.use_bias === false)).toBe(true);
    // PyTorch's symmetric padding before each strided 3x3 conv (stages 2 and 3), never 'same' at stride 2.
    expect(layers.filter((l) => l.class_name === 'ZeroPadding2D').map((l) => l.config.name)).toEqual(['stage2_block0_1_pad', 'stage3_block0_1_pad']);
    expect(layers.filter((l) => l.class_name === 'Conv2D' && l.config.padding === 'same').every((l) => l.config.strides!.every((s) => s === 1))).toBe(true);

    expect(readCard(dir)).toEqual({
      format: 'blockwise-model-card/1',
      net: 'resnet8',
      depth: 8,
      inputShape: [28, 28, 1],
      classes: 10,
      input: 'image',
      output: 'logits',
      ...FACTS,
      cuts: [[1, 0], [2, 0]],
      dropped: ['auxiliary networks (training only)'],
      date: '2026-01-02T03:04:05.000Z',
      files: { model: 'model.json', weights: 'group1-shard1of1.bin' },
    });

    // Real test digits, not the ones trained on.
    const test = (await testBatches(openMnist(), 48).next()).value!;
    const x = tf.tensor4d(test.x, [test.size, 28, 28, 1]);
    const [exported, expected] = await bothLogits(model, dir, x);
    expect(await maxDifference(exported, expected)).toBeLessThan(1e-4);
    // The logits are far larger than the tolerance: the comparison means something.
    const zeros = tf.zerosLike(expected);
    expect(await maxDifference(expected, zeros)).toBeGreaterThan(0.1);
    zeros.dispose();
    tf.dispose([x, exported, expected, ...batches.flatMap((b) => [b.x, b.y])]);
    model.dispose();
  });

  for (const { depth, input } of [
    { depth: 14, input: { height: 32, width: 32, channels: 3 } },
    // Odd sizes: 15 -> 8 -> 4 under PyTorch's padding, where TF 'same' would differ too.
    { depth: 8, input: { height: 15, width: 15, channels: 3 } },
  ] as { depth: number; input: InputShape }[]) {
    it(`ResNet-${depth} on ${input.height}x${input.width}x${input.channels}: projection shortcuts and strided padding match on random images`, async () => {
      const model = createResNet(depth, input, 7, 11);
      const shape: [number, number, number, number] = [8, input.height, input.width, input.channels];
      const batches = [0, 1].map((seed) => ({ x: tf.randomNormal(shape, 0, 1, 'float32', seed) as tf.Tensor4D, y: tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 0], 'int32') }));
      train(model, batches);
      const dir = path.join(tmp(), 'model');
      await exportModel(model, dir, { ...FACTS, runId: null, dataset: null, classNames: null, normalization: null }, new Date());
      const card = readCard(dir);
      expect(card).toMatchObject({ net: `resnet${depth}`, inputShape: [input.height, input.width, input.channels], classes: 7, runId: null, dataset: null });
      expect(topologyLayers(dir).filter((l) => l.class_name === 'Conv2D' && l.config.name.endsWith('_shortcut_conv'))).toHaveLength(2);
      const x = tf.randomUniform(shape, -2, 2, 'float32', 5) as tf.Tensor4D;
      const [exported, expected] = await bothLogits(model, dir, x);
      expect(await maxDifference(exported, expected)).toBeLessThan(1e-4);
      tf.dispose([x, exported, expected, ...batches.flatMap((b) => [b.x, b.y])]);
      model.dispose();
    });
  }

  it('keeps the exported values when the model trains on, and exports twice in one process', async () => {
    const model = createResNet(8, MNIST_INPUT, 10, 4);
    const layersModel = toLayersModel(model);
    const x = tf.randomNormal([4, 28, 28, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const before = layersModel.predict(x) as tf.Tensor;
    const batch = await digits(16);
    train(model, [batch]);
    const after = layersModel.predict(x) as tf.Tensor;
    expect(await maxDifference(before, after)).toBe(0);
    layersModel.dispose();
    // Layer names repeat across exports; the weights are matched by name in each model.json.
    const dir = path.join(tmp(), 'again');
    await exportModel(model, dir, FACTS);
    const [exported, expected] = await bothLogits(model, dir, x);
    expect(await maxDifference(exported, expected)).toBeLessThan(1e-4);
    tf.dispose([x, before, after, exported, expected, batch.x, batch.y]);
    model.dispose();
  });

  it('exports only into a new or empty folder', async () => {
    const root = tmp();
    expect(() => checkExportDir(path.join(root, 'new', 'nested'))).not.toThrow();
    fs.mkdirSync(path.join(root, 'empty'));
    expect(() => checkExportDir(path.join(root, 'empty'))).not.toThrow();
    fs.writeFileSync(path.join(root, 'file'), 'x');
    expect(() => checkExportDir(path.join(root, 'file'))).toThrow(`Cannot export into ${path.join(root, 'file')}: it is a file`);
    const model = createResNet(8, MNIST_INPUT, 10, 0);
    await expect(exportModel(model, root, FACTS)).rejects.toThrow(`Cannot export into ${root}: the folder is not empty. Give a new folder (it will be created), or empty or delete this one.`);
    expect(fs.readdirSync(root).sort()).toEqual(['empty', 'file']);
    await exportModel(model, path.join(root, 'empty'), FACTS);
    expect(fs.readdirSync(path.join(root, 'empty')).sort()).toEqual([CARD_FILE, SHARD_FILE, MODEL_FILE].sort());
    model.dispose();
  });
});

describe('blockwise export', () => {
  const tmp = useTempDir();

  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('parses RUN and --out, and says what is missing', () => {
    expect(parseCli(['export', '3', '--out', 'model', '--db', 'x.sqlite'])).toMatchObject({ command: 'export', runId: 3, out: 'model', db: 'x.sqlite' });
    expect(() => parseCli(['export', '--out', 'model'])).toThrow('blockwise export needs a run id (see blockwise runs), e.g. blockwise export 3 --out model.');
    expect(() => parseCli(['export', '3'])).toThrow('blockwise export needs --out DIR, a new or empty folder for the model');
    expect(() => parseCli(['train', '--out', 'model'])).toThrow('--out is an option of blockwise export only.');
  });

  it('exports a trained run whose TF.js model scores the accuracy the run recorded, and refuses runs without weights and folders in use', async () => {
    const dir = tmp();
    const { cli, env } = await buildCli(dir);
    const db = path.join(dir, 'studio.sqlite');
    const blockwise = (...args: string[]) => spawnSync(process.execPath, [cli, ...args, '--db', db], { env, encoding: 'utf8' });
    // A local method: its auxiliary nets are trained, then left out of the export.
    const train = blockwise('train', '--method', 'dgl', '--split', 'per-block', '--epochs', '1', '--batch', '32', '--train-limit', '64', '--test-limit', '64', '--backend', 'wasm');
    expect(train.status).toBe(0);
    const printed = /test accuracy (\d+\.\d\d)%/.exec(train.stdout)![1];

    const out = path.join(dir, 'exported');
    const exported = blockwise('export', '1', '--out', out);
    expect(exported.stderr).toBe('');
    expect(exported.status).toBe(0);
    expect(exported.stdout).toContain(`run 1: TF.js layers model exported to ${out}\n`);
    expect(exported.stdout).toMatch(/ {2}group1-shard1of1\.bin +\d+\.\d KiB\n {2}model\.json +\d+\.\d KiB\n {2}card\.json +\d+\.\d KiB\n/);
    expect(exported.stdout).toContain('input [N, 28, 28, 1] normalised as in training (see card.json); output: logits for 10 classes');
    expect(exported.stdout).toContain('left out: auxiliary networks (training only)');
    expect(fs.readdirSync(out).sort()).toEqual([CARD_FILE, SHARD_FILE, MODEL_FILE].sort());

    const store = Store.open(db);
    const recorded = store.metrics.series(1, 'epoch').find((s) => s.key === 'test_acc')!.values;
    const card = readCard(out);
    expect(card).toMatchObject({
      runId: 1,
      method: 'dgl',
      split: 'per-block',
      cuts: [[1, 0], [2, 0]],
      dataset: { id: 'mnist', name: 'MNIST (built in)' },
      classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      normalization: { mean: [0.1307], std: [0.3081] },
      inputShape: [28, 28, 1],
      classes: 10,
      depth: 8,
      testAccuracy: recorded.at(-1),
      bestTestAccuracy: Math.max(...recorded),
      testImages: 64,
      backend: 'wasm',
      dropped: ['auxiliary networks (training only)'],
    });
    expect(Date.now() - Date.parse(card.date)).toBeLessThan(120_000);
    const artifacts = store.metrics.artifacts(1);
    expect(artifacts.map((a) => a.kind)).toEqual(['weights', 'export']);
    expect(artifacts[1]).toMatchObject({ path: out, bytes: fs.readdirSync(out).reduce((n, f) => n + fs.statSync(path.join(out, f)).size, 0), meta: { format: 'tfjs-layers-model' } });

    // The exported model alone, on the run's test subset, scores what the run recorded.
    const scored = await exportedAccuracy(out, 64);
    expect(scored.images).toBe(64);
    expect(scored.accuracy).toBe(recorded.at(-1));
    expect((scored.accuracy * 100).toFixed(2)).toBe(printed);

    // A run that never finished has no weights: refused, and no folder appears.
    const failed = store.runs.create({ experimentId: store.runs.get(1).experimentId, name: 'unfinished', kind: 'local-learning', config: {} });
    store.runs.setStatus(failed.id, 'failed', 'stopped');
    store.close();
    const noWeights = blockwise('export', String(failed.id), '--out', path.join(dir, 'failed'));
    expect(noWeights.status).toBe(1);
    expect(noWeights.stderr.trim()).toBe(`blockwise: Run ${failed.id} has no saved weights (status failed): only runs that finished training can be exported.`);
    expect(fs.existsSync(path.join(dir, 'failed'))).toBe(false);

    // A folder in use is left as it was.
    const busy = path.join(dir, 'busy');
    fs.mkdirSync(busy);
    fs.writeFileSync(path.join(busy, 'notes.txt'), 'mine');
    const inUse = blockwise('export', '1', '--out', busy);
    expect(inUse.status).toBe(1);
    expect(inUse.stderr.trim()).toBe(`blockwise: Cannot export into ${busy}: the folder is not empty. Give a new folder (it will be created), or empty or delete this one.`);
    expect(fs.readdirSync(busy)).toEqual(['notes.txt']);
    const again = blockwise('export', '1', '--out', out);
    expect(again.status).toBe(1);
    expect(fs.readdirSync(out).sort()).toEqual([CARD_FILE, SHARD_FILE, MODEL_FILE].sort());

    const missing = blockwise('export', '1');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('blockwise export needs --out DIR');

    const after = Store.open(db);
    expect(after.metrics.artifacts(1).map((a) => a.kind)).toEqual(['weights', 'export']);
    expect(after.metrics.artifacts(failed.id)).toEqual([]);
    after.close();
  }, 180_000);
});
