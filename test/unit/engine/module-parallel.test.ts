/**
 * Module-parallel (pipelined) local training on worker threads, ResNet-8 on real MNIST digits on
 * wasm: after N steps the pipelined run's weights, BatchNorm statistics, auxiliary nets and
 * momentum buffers equal the sequential trainer's (the same arithmetic, shifted in time), and its
 * step losses too; a failing stage rejects with its message and leaves no worker running; coupled
 * methods are refused. The stage workers run dist/main/stage-worker.cjs (test/global-setup.ts).
 */
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HostBatch, iterateBatches } from '../../../main/data/batches';
import { openMnist } from '../../../main/data/mnist';
import { PREPROCESSING } from '../../../main/data/preprocess';
import { selectBackend } from '../../../main/engine/backend/select';
import { createResNet } from '../../../main/engine/nets/resnet-model';
import { balanceStages, stageRanges } from '../../../main/engine/parallel/balance';
import { ModuleParallelTrainer } from '../../../main/engine/parallel/module-parallel-trainer';
import { moduleLayout } from '../../../main/engine/parallel/stage-state';
import { createTrainer } from '../../../main/engine/train/create-trainer';
import { type BaseMethod, LocalTrainer } from '../../../main/engine/train/local-trainer';
import { SgdNesterov } from '../../../main/engine/train/sgd';
import { lossValues } from '../../../main/engine/train/trainer';
import { variablesOf } from '../../../main/engine/train/weights';
import { moduleParallelRefusal, type TrainableMethod } from '../../../shared/engine/config';
import type { Cut } from '../../../shared/engine/splits';
import { MNIST_INPUT } from '../../helpers/digits';

/** Four modules: the stem, block 1, block 2, block 3 with the head. */
const K4: Cut[] = [[0, 0], [1, 0], [2, 0]];
const K3: Cut[] = [[1, 0], [2, 0]];
const BATCH = 16;
/** A different rate every step, as the cosine-steps schedule gives. */
const lrAt = (step: number) => 0.1 * (1 - step / 20);

interface Run {
  model: ReturnType<typeof createResNet>;
  trainer: LocalTrainer;
  sgd: SgdNesterov;
}

function build(method: BaseMethod, cuts: Cut[], seed = 3): Run {
  const model = createResNet(8, MNIST_INPUT, 10, seed);
  // Every InfoPro weight non-zero: every auxiliary variable has a loss to learn from.
  const infopro = { lambdas: { ixx1: 1, ixy1: 1, ixx2: 1, ixy2: 1 } };
  const trainer = new LocalTrainer({ model, method, cuts, normalization: PREPROCESSING.mnist.normalization, seed, infopro });
  return { model, trainer, sgd: new SgdNesterov({ lr: 0.1 }) };
}

function dispose(run: Run): void {
  run.sgd.dispose();
  run.trainer.dispose();
  run.model.dispose();
}

async function hostBatches(count: number, epoch: number): Promise<HostBatch[]> {
  const out: HostBatch[] = [];
  for await (const b of iterateBatches(openMnist(), 'train', { batchSize: BATCH, shuffle: true, seed: 5, epoch, augment: false, limit: count * BATCH })) out.push(b);
  return out;
}

/** Fresh copies: the pipeline takes its batches' arrays over. */
async function* copies(batches: readonly HostBatch[]): AsyncGenerator<HostBatch> {
  for (const b of batches) yield { ...b, x: b.x.slice(), y: b.y.slice() };
}

async function sequentialStep(run: Run, batch: HostBatch, lr: number): Promise<number[]> {
  run.sgd.setLearningRate(lr);
  const x = tf.tensor4d(batch.x, [batch.size, 28, 28, 1]);
  const y = tf.tensor1d(batch.y, 'int32');
  const losses = await lossValues(run.trainer.step(x, y, run.sgd));
  tf.dispose([x, y]);
  return losses;
}

const maxAbsDiff = (a: readonly tf.Variable[], b: readonly tf.Variable[]): number => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  a.forEach((v, i) => {
    expect(v.shape).toEqual(b[i]!.shape);
    const [va, vb] = [v.dataSync(), b[i]!.dataSync()];
    for (let j = 0; j < va.length; j++) worst = Math.max(worst, Math.abs(va[j]! - vb[j]!));
  });
  return worst;
};

/** Max |pipelined - sequential| per variable group; the momentum buffers must exist for the same variables. */
function differences(pipelined: Run, sequential: Run): Record<string, number> {
  const [a, b] = [moduleLayout(pipelined.trainer).variables, moduleLayout(sequential.trainer).variables];
  const [sa, sb] = [pipelined.sgd.getState(a), sequential.sgd.getState(b)];
  expect(sa.step).toBe(sb.step);
  expect(sa.buffers.map((x) => x.index)).toEqual(sb.buffers.map((x) => x.index));
  let momentum = 0;
  sa.buffers.forEach((buf, i) => buf.values.forEach((v, j) => (momentum = Math.max(momentum, Math.abs(v - sb.buffers[i]!.values[j]!)))));
  return {
    backbone: maxAbsDiff(pipelined.model.trainableVariables(), sequential.model.trainableVariables()),
    bnStatistics: maxAbsDiff(pipelined.model.stateVariables(), sequential.model.stateVariables()),
    auxiliary: maxAbsDiff(pipelined.trainer.auxiliaryState(), sequential.trainer.auxiliaryState()),
    momentum,
  };
}

describe('module-parallel local training', () => {
  const open: ModuleParallelTrainer[] = [];
  const runs: Run[] = [];

  beforeAll(async () => {
    await selectBackend('wasm');
  });

  afterEach(async () => {
    for (const p of open.splice(0)) await p.close();
    for (const r of runs.splice(0)) dispose(r);
  });

  it('balances stages by cost, not by module count', () => {
    expect(balanceStages([1, 1, 1, 1], 2)).toEqual([2, 2]);
    expect(balanceStages([5, 1, 1, 1], 2)).toEqual([1, 3]);
    expect(balanceStages([1, 1, 1, 6], 2)).toEqual([3, 1]);
    expect(balanceStages([2, 2, 2], 3)).toEqual([1, 1, 1]);
    expect(stageRanges([1, 3])).toEqual([[0, 0], [1, 3]]);
    // Exact: no other contiguous grouping has a smaller largest group.
    const costs = [3, 1, 4, 1, 5, 9, 2, 6];
    const best = Math.max(...stageRanges(balanceStages(costs, 3)).map(([a, b]) => costs.slice(a, b + 1).reduce((s, c) => s + c)));
    let brute = Infinity;
    for (let i = 1; i < costs.length; i++) {
      for (let j = i + 1; j < costs.length; j++) {
        const sums = [costs.slice(0, i), costs.slice(i, j), costs.slice(j)].map((g) => g.reduce((s, c) => s + c));
        brute = Math.min(brute, Math.max(...sums));
      }
    }
    expect(best).toBe(brute);
    expect(() => balanceStages([1, 1], 3)).toThrow(/2 modules cannot fill 3 pipeline stages/);
  });

  it('lists the same variables as a checkpoint, module by module', () => {
    const run = build('infopro', K4);
    runs.push(run);
    const { variables, offsets } = moduleLayout(run.trainer);
    expect(offsets).toHaveLength(5);
    expect(new Set(variables)).toEqual(new Set([...variablesOf(run.model), ...run.trainer.auxiliaryState()]));
    expect(variables).toHaveLength(new Set(variables).size);
  });

  it('moduleGradients module by module is computeGradients', async () => {
    const run = build('infopro', K4);
    runs.push(run);
    const [batch] = await hostBatches(1, 0);
    const x = tf.tensor4d(batch!.x, [BATCH, 28, 28, 1]);
    const y = tf.tensor1d(batch!.y, 'int32');
    const whole = run.trainer.computeGradients(x, y);
    const grads = new Map<tf.Variable, tf.Tensor>();
    const losses: tf.Scalar[] = [];
    let h = x;
    for (let i = 0; i < run.trainer.modules.length; i++) {
      const { loss, output } = run.trainer.moduleGradients(i, h, x, y, grads);
      losses.push(loss);
      if (h !== x) h.dispose();
      if (output) h = output;
    }
    expect(await lossValues(losses)).toEqual(await lossValues(whole.losses));
    expect(grads.size).toBe(whole.grads.size);
    for (const [v, g] of whole.grads) expect(Array.from(grads.get(v)!.dataSync())).toEqual(Array.from(g.dataSync()));
    tf.dispose([...grads.values(), ...whole.grads.values(), x, y]);
  });

  for (const [method, cuts, regroup] of [['infopro', K4, [3, 1]], ['dgl', K3, null]] as const) {
    it(`${method}, K = ${cuts.length + 1}, 2 stages: weights, BN statistics, aux nets and momentum equal the sequential trainer's`, async () => {
      const sequential = build(method, cuts);
      const pipelined = build(method, cuts);
      runs.push(sequential, pipelined);
      const first = await hostBatches(1, 0);
      const epoch1 = await hostBatches(3, 1);
      const epoch2 = await hostBatches(2, 2);
      // A step in this thread first: the stages must take over existing momentum, and the step count.
      await sequentialStep(sequential, first[0]!, 0.05);
      await sequentialStep(pipelined, first[0]!, 0.05);
      const expected: number[][] = [];
      for (const [i, b] of [...epoch1, ...epoch2].entries()) expected.push(await sequentialStep(sequential, b, lrAt(i)));

      const parallel = await ModuleParallelTrainer.create(pipelined, { method, batchSize: BATCH, backend: 'wasm' }, { stages: 2 });
      open.push(parallel);
      expect(parallel.stageModules.reduce((a, b) => a + b)).toBe(cuts.length + 1);
      const got: number[][] = [];
      const report = await parallel.trainEpoch(copies(epoch1), lrAt, (step, losses) => (got[step] = losses));
      expect(report.steps).toBe(3);
      expect(report.stageBusySeconds.every((s) => s > 0 && s <= report.seconds)).toBe(true);
      expect(report.moduleSeconds.every((s) => s > 0)).toBe(true);
      // Between epochs the in-thread state is the trained one; the next epoch starts from it,
      // on another grouping of the modules where one is given.
      if (regroup) parallel.setStageModules(regroup);
      const second: number[][] = [];
      const report2 = await parallel.trainEpoch(copies(epoch2), (step) => lrAt(step + 3), (step, losses) => (second[step] = losses));
      if (regroup) expect(report2.stageModules).toEqual(regroup);
      got.push(...second);

      expect(got).toHaveLength(expected.length);
      got.forEach((losses, i) => {
        expect(losses).toHaveLength(cuts.length + 1);
        losses.forEach((l, k) => expect(Math.abs(l - expected[i]![k]!)).toBeLessThanOrEqual(1e-6));
      });
      const diff = differences(pipelined, sequential);
      console.info(`module-parallel ${method} K=${cuts.length + 1} after ${expected.length + 1} steps, max |pipelined - sequential|:`, diff);
      for (const value of Object.values(diff)) expect(value).toBeLessThanOrEqual(1e-6);
      expect(pipelined.sgd.stepCount).toBe(1 + expected.length);
      expect(pipelined.sgd.learningRate).toBe(lrAt(expected.length - 1));
    }, 180_000);
  }

  for (const kind of ['throw', 'exit'] as const) {
    it(`a stage that fails (${kind}) rejects with its message and leaves no worker running`, async () => {
      const run = build('dgl', K3);
      runs.push(run);
      const parallel = await ModuleParallelTrainer.create(run, { method: 'dgl', batchSize: BATCH, backend: 'wasm' }, { stages: 2, stageModules: [1, 2], fault: { stage: 1, step: 1, kind } });
      open.push(parallel);
      expect(parallel.liveWorkers).toBe(2);
      const before = run.model.trainableVariables()[0]!.dataSync().slice();
      const message = kind === 'throw' ? /^stage 1: injected fault at step 1/ : /^stage 1: its worker thread exited \(code 3\)/;
      await expect(parallel.trainEpoch(copies(await hostBatches(4, 0)), lrAt, () => {})).rejects.toThrow(message);
      expect(parallel.liveWorkers).toBe(0);
      // The in-thread state is left as it was, and the trainer refuses further work.
      expect(Array.from(run.model.trainableVariables()[0]!.dataSync())).toEqual(Array.from(before));
      await expect(parallel.trainEpoch(copies([]), lrAt, () => {})).rejects.toThrow(/closed/);
      await parallel.close();
      await parallel.close();
    }, 120_000);
  }

  it('an onStep that throws stops the epoch the same way', async () => {
    const run = build('greedy', K3);
    runs.push(run);
    const parallel = await ModuleParallelTrainer.create(run, { method: 'greedy', batchSize: BATCH, backend: 'wasm' }, { stages: 2, stageModules: [2, 1] });
    open.push(parallel);
    await expect(
      parallel.trainEpoch(copies(await hostBatches(3, 0)), lrAt, () => {
        throw new Error('store is full');
      }),
    ).rejects.toThrow('store is full');
    expect(parallel.liveWorkers).toBe(0);
  }, 120_000);

  it('refuses methods whose modules are coupled, and more stages than modules', async () => {
    expect(moduleParallelRefusal('infopro')).toBeNull();
    expect(moduleParallelRefusal('dgl')).toBeNull();
    const cases: [TrainableMethod, RegExp][] = [
      ['e2e', /not available for e2e: end-to-end training has one module/],
      ['infopro+hpff', /not available for infopro\+hpff: HPFF's modules are coupled: its cascade loss spans two segments/],
      ['dgl+hpff', /HPFF's modules are coupled/],
      ['infopro+man', /not available for infopro\+man: MAN's modules are coupled: each local loss runs the next block's weights/],
      ['dgl+man', /MAN's modules are coupled/],
    ];
    for (const [method, message] of cases) {
      const model = createResNet(8, MNIST_INPUT, 10, 1);
      const trainer = createTrainer({ model, method, cuts: K3, normalization: PREPROCESSING.mnist.normalization, seed: 1 });
      const sgd = new SgdNesterov({ lr: 0.1 });
      await expect(ModuleParallelTrainer.create({ model, trainer, sgd }, { method, batchSize: BATCH }, { stages: 2 })).rejects.toThrow(message);
      sgd.dispose();
      trainer.dispose();
      model.dispose();
    }
    const run = build('dgl', K3);
    runs.push(run);
    await expect(ModuleParallelTrainer.create(run, { method: 'dgl', batchSize: BATCH }, { stages: 4 })).rejects.toThrow(/3 modules cannot fill 4 pipeline stages/);
    await expect(ModuleParallelTrainer.create(run, { method: 'infopro', batchSize: BATCH }, { stages: 2 })).rejects.toThrow(/needs the run's LocalTrainer for infopro, got one for dgl/);
  });
});
