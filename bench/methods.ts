/**
 * The engine's two benchmark tables (issue 4), measured side by side in one run:
 *  (1) peak memory of one training step for every method, as a ratio to end-to-end, on
 *      ResNet-32 at batch 64 on 32x32x3 inputs, for K = 2, 4, 8, 16 and one module per block;
 *  (2) test accuracy on the built-in MNIST for ResNet-8 at K = 4 and one module per block,
 *      every method, mean +- std over seeds, same epochs.
 * Memory is tf.profile's peak of live tensor bytes (main/engine/memory/probe.ts), weights and
 * optimiser state included, the same probe for every method.
 *
 *   npm run bench:methods -- [--seeds 3] [--train-limit 2000] [--epochs 1] [--skip-accuracy] [--skip-memory]
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { PREPROCESSING } from '../main/data/preprocess';
import { DatasetCatalog } from '../main/data/catalog';
import { selectBackend } from '../main/engine/backend/select';
import { measurePeak } from '../main/engine/memory/probe';
import { createResNet } from '../main/engine/nets/resnet-model';
import { type BaseMethod, LocalTrainer } from '../main/engine/train/local-trainer';
import { runTraining } from '../main/engine/train/run-training';
import { SgdNesterov } from '../main/engine/train/sgd';
import { Store } from '../main/store';
import { trainConfig } from '../shared/engine/config';
import { splitPresets } from '../shared/engine/splits';

const METHODS: BaseMethod[] = ['e2e', 'greedy', 'dgl', 'infopro'];
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const has = (name: string) => process.argv.includes(name);

async function memoryTable() {
  const input = { height: 32, width: 32, channels: 3 };
  const x = tf.randomNormal([64, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), 'int32');
  const peak = async (method: BaseMethod, cuts: readonly (readonly [number, number])[]) => {
    const model = createResNet(32, input, 10, 0);
    const trainer = new LocalTrainer({ model, method, cuts: cuts.map((c) => [c[0], c[1]] as const), normalization: PREPROCESSING.cifar10.normalization, seed: 0 });
    const sgd = new SgdNesterov({ lr: 0.1 });
    trainer.step(x, y, sgd); // momentum buffers exist from here on, as in every later step
    const { peakBytes } = await measurePeak(() => trainer.step(x, y, sgd));
    sgd.dispose();
    trainer.dispose();
    model.dispose();
    return peakBytes;
  };
  const e2e = await peak('e2e', []);
  const presets = splitPresets(32).filter((p) => ['k2', 'k4', 'k8', 'k16', 'per-block'].includes(p.id));
  console.log(`\n(1) Peak memory of one training step, ResNet-32, batch 64, 32x32x3 (tf.profile peak; e2e = ${(e2e / 2 ** 20).toFixed(1)} MiB)\n`);
  console.log(`| method | ${presets.map((p) => p.label.replace(' (end-to-end)', '')).join(' | ')} |`);
  console.log(`|---|${presets.map(() => '---:').join('|')}|`);
  for (const method of METHODS.slice(1)) {
    const cells: string[] = [];
    for (const preset of presets) cells.push(`${((await peak(method, preset.cuts)) / e2e).toFixed(2)}`);
    console.log(`| ${method} | ${cells.join(' | ')} |`);
  }
  tf.dispose([x, y]);
}

async function accuracyTable() {
  const seeds = arg('--seeds', 3);
  const trainLimit = arg('--train-limit', 2000);
  const epochs = arg('--epochs', 1);
  const store = Store.open(':memory:');
  const project = store.projects.create({ name: 'bench' });
  const experiment = store.projects.createExperiment({ projectId: project.id, name: 'methods', kind: 'local-learning' });
  const datasets = new DatasetCatalog(store);
  const splits = [
    { id: 'k3', label: 'K = 3 (per block, stem fused)', split: 'per-block' },
    { id: 'k4', label: 'K = 4 (stem apart)', split: [[0, 0], [1, 0], [2, 0]] as [number, number][] },
  ];
  console.log(`\n(2) MNIST test accuracy %, ResNet-8, ${epochs} epoch(s) of ${trainLimit} images, batch 64, lr 0.1, mean +- std over ${seeds} seeds\n`);
  console.log(`| method | ${splits.map((s) => s.label).join(' | ')} |`);
  console.log(`|---|${splits.map(() => '---:').join('|')}|`);
  for (const method of METHODS) {
    const cells: string[] = [];
    for (const s of splits) {
      const accs: number[] = [];
      for (let seed = 0; seed < seeds; seed++) {
        const config = trainConfig.parse({ method, split: method === 'e2e' ? 'k1' : s.split, epochs, batchSize: 64, lr: 0.1, seed, trainLimit, backend: 'wasm' });
        const result = await runTraining({ store, datasets }, config, { experimentId: experiment.id, name: `${method} ${s.id} ${seed}` });
        accs.push(result.bestTestAccuracy * 100);
      }
      const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
      const std = Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, accs.length - 1));
      cells.push(`${mean.toFixed(2)} +- ${std.toFixed(2)}`);
    }
    console.log(`| ${method} | ${cells.join(' | ')} |`);
  }
  store.close();
}

async function main() {
  const backend = await selectBackend('wasm');
  console.log(`backend: ${backend.id}`);
  if (!has('--skip-memory')) await memoryTable();
  if (!has('--skip-accuracy')) await accuracyTable();
}

void main().then(() => process.exit(0));
