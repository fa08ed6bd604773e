/**
 * The engine's benchmark tables (issue 4), measured side by side in one run:
 *  (1) peak memory of one training step for every method, as a ratio to end-to-end, on ResNet-32
 *      at batch 64 on 32x32x3 inputs, for K = 2, 4, 8, 16 and one module per block; HPFF, MAN and
 *      InfoPro both as the reference code executes them and with the lean execution (same
 *      gradients, main/engine/train/loss-parts.ts);
 *  (1b) the peak of each module's (HPFF: each window's) part of the step at K = 4, in MiB;
 *  (2) test accuracy on the built-in MNIST for ResNet-8 at K = 4 and one module per block, every
 *      method, mean +- std over seeds, same epochs.
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
import { createTrainer } from '../main/engine/train/create-trainer';
import type { Execution } from '../main/engine/train/loss-parts';
import { runTraining } from '../main/engine/train/run-training';
import { SgdNesterov } from '../main/engine/train/sgd';
import { Store } from '../main/store';
import { type TrainableMethod, TRAINABLE_METHODS, trainConfig } from '../shared/engine/config';
import { type Cut, segmentsFor, splitPresets } from '../shared/engine/splits';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const has = (name: string) => process.argv.includes(name);
const isAddon = (method: TrainableMethod) => method.includes('+');
const MiB = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

async function memoryTables() {
  const input = { height: 32, width: 32, channels: 3 };
  const x = tf.randomNormal([64, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), 'int32');
  const measure = async (method: TrainableMethod, cuts: readonly Cut[], execution: Execution) => {
    const model = createResNet(32, input, 10, 0);
    const trainer = createTrainer({ model, method, cuts, normalization: PREPROCESSING.cifar10.normalization, seed: 0, settings: { execution } });
    const sgd = new SgdNesterov({ lr: 0.1 });
    tf.dispose(trainer.step(x, y, sgd)); // momentum buffers exist from here on, as in every later step
    const peak = await measurePeak((onPhase) => tf.dispose(trainer.step(x, y, sgd, onPhase)));
    sgd.dispose();
    trainer.dispose();
    model.dispose();
    return peak;
  };
  const e2e = (await measure('e2e', [], 'reference')).peakBytes;
  const presets = splitPresets(32).filter((p) => ['k2', 'k4', 'k8', 'k16', 'per-block'].includes(p.id));
  console.log(`\n(1) Peak memory of one training step / end-to-end's, ResNet-32, batch 64, 32x32x3 (tf.profile peak; e2e = ${MiB(e2e)} MiB)\n`);
  console.log(`| method | execution | ${presets.map((p) => p.label).join(' | ')} |`);
  console.log(`|---|---|${presets.map(() => '---:').join('|')}|`);
  const rows: [TrainableMethod, Execution][] = TRAINABLE_METHODS.filter((m) => m !== 'e2e').flatMap((m) => (m === 'infopro' || isAddon(m) ? [[m, 'reference'], [m, 'lean']] : [[m, 'reference']]) as [TrainableMethod, Execution][]);
  const perModule: string[] = [];
  for (const [method, execution] of rows) {
    const cells: string[] = [];
    for (const preset of presets) {
      const peak = await measure(method, preset.cuts, execution);
      cells.push((peak.peakBytes / e2e).toFixed(2));
      if (preset.id === 'k4') perModule.push(`| ${method} | ${execution} | ${peak.phasePeakBytes.map(MiB).join(' / ')} |`);
    }
    console.log(`| ${method} | ${execution} | ${cells.join(' | ')} |`);
  }
  console.log(`\n(1b) Peak MiB within each module's part of the step (HPFF: each window of two segments), ResNet-32 K = 4\n`);
  console.log('| method | execution | per module |\n|---|---|---|');
  for (const row of perModule) console.log(row);
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
    { id: 'k4', label: 'K = 4 (stem apart)' },
    { id: 'per-block', label: 'one module per block (K = 3)' },
  ];
  console.log(`\n(2) MNIST test accuracy %, ResNet-8, ${epochs} epoch(s) of ${trainLimit} images, batch 64, lr 0.1, best epoch, mean +- std over ${seeds} seeds`);
  console.log('    (HPFF and MAN fuse the stem into the first segment, so both splits are the same 3 segments for them: run once)\n');
  console.log(`| method | ${splits.map((s) => s.label).join(' | ')} |`);
  console.log(`|---|${splits.map(() => '---:').join('|')}|`);
  const done = new Map<string, string>();
  for (const method of TRAINABLE_METHODS) {
    const cells: string[] = [];
    for (const s of splits) {
      const split = method === 'e2e' ? 'k1' : s.id;
      const cuts = splitPresets(8).find((p) => p.id === split)!.cuts;
      // Runs whose modules are the same (e2e on any split, HPFF/MAN on both) are measured once.
      const key = `${method} ${JSON.stringify(segmentsFor(8, cuts, isAddon(method) ? 'stem-fused' : 'infopro'))}`;
      if (!done.has(key)) {
        const accs: number[] = [];
        for (let seed = 0; seed < seeds; seed++) {
          // Lean execution: the reference gradients, faster for HPFF (2 forwards per segment instead of 3).
          // MAN: the module-index schedule; the code's stage index gives every cut of ResNet-8 the weights (0, 0).
          const config = trainConfig.parse({ method, split, epochs, batchSize: 64, lr: 0.1, seed, trainLimit, backend: 'wasm', execution: 'lean', man: { lambdaIndex: 'module' } });
          const result = await runTraining({ store, datasets }, config, { experimentId: experiment.id, name: `${method} ${split} ${seed}` });
          accs.push(result.bestTestAccuracy * 100);
        }
        const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
        const std = Math.sqrt(accs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, accs.length - 1));
        done.set(key, `${mean.toFixed(2)} +- ${std.toFixed(2)}`);
      }
      cells.push(done.get(key)!);
    }
    console.log(`| ${method} | ${cells.join(' | ')} |`);
  }
  store.close();
}

async function main() {
  const backend = await selectBackend('wasm');
  console.log(`backend: ${backend.id}`);
  if (!has('--skip-memory')) await memoryTables();
  if (!has('--skip-accuracy')) await accuracyTable();
}

void main().then(() => process.exit(0));
