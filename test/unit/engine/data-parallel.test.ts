/**
 * Data-parallel training on worker threads, ResNet-8 on real MNIST digits on wasm. The stated
 * semantics: each worker normalises its shard with the shard's own BatchNorm statistics (as
 * PyTorch DDP), gradients are the shard-size-weighted mean of the shards' gradients, and the
 * running statistics the weighted mean of the shards'. The reference below computes exactly
 * that in this one thread with plain TF.js (shard 0, then shard 1 from the same state), and
 * 2 workers must give its gradients and, after more steps, its whole state. Two runs with one
 * seed end at bit-equal weights; a job with workers = 2 trains to done through the job system.
 * The workers run dist/main/stage-worker.cjs (test/global-setup.ts builds it).
 */
import '@tensorflow/tfjs-layers';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HostBatch, iterateBatches } from '../../../main/data/batches';
import { openMnist } from '../../../main/data/mnist';
import { PREPROCESSING } from '../../../main/data/preprocess';
import { selectBackend } from '../../../main/engine/backend/select';
import { createResNet } from '../../../main/engine/nets/resnet-model';
import { shardSizes } from '../../../main/engine/parallel/data-parallel-allreduce';
import { dataParallelLayout } from '../../../main/engine/parallel/data-parallel-layout';
import { DataParallelTrainer } from '../../../main/engine/parallel/data-parallel-trainer';
import type { TrainingState } from '../../../main/engine/train/checkpoint';
import { type CreateTrainerOptions, createTrainer } from '../../../main/engine/train/create-trainer';
import { SgdNesterov } from '../../../main/engine/train/sgd';
import { lossValues } from '../../../main/engine/train/trainer';
import { createStudio } from '../../../main/studio';
import type { Run } from '../../../shared/api/schemas';
import { trainConfig, type TrainableMethod } from '../../../shared/engine/config';
import { MNIST_INPUT } from '../../helpers/digits';
import { useTempDir } from '../../helpers/temp';

const BATCH = 16;
const lrAt = (step: number) => 0.1 * (1 - step / 20);

function recipe(method: TrainableMethod): Omit<CreateTrainerOptions, 'model'> {
  return { method, cuts: method === 'e2e' ? [] : [[1, 0], [2, 0]], normalization: PREPROCESSING.mnist.normalization, seed: 3, settings: {} };
}

function build(method: TrainableMethod): TrainingState {
  const model = createResNet(8, MNIST_INPUT, 10, 3);
  return { model, trainer: createTrainer({ model, ...recipe(method) }), sgd: new SgdNesterov({ lr: 0.1 }) };
}

function dispose({ model, trainer, sgd }: TrainingState): void {
  sgd.dispose();
  trainer.dispose();
  model.dispose();
}

async function hostBatches(count: number, epoch: number): Promise<HostBatch[]> {
  const out: HostBatch[] = [];
  for await (const b of iterateBatches(openMnist(), 'train', { batchSize: BATCH, shuffle: true, seed: 5, epoch, augment: false, limit: count * BATCH })) out.push(b);
  return out;
}

/** Fresh copies: the workers take their shards' arrays over. */
async function* copies(batches: readonly HostBatch[]): AsyncGenerator<HostBatch> {
  for (const b of batches) yield { ...b, x: b.x.slice(), y: b.y.slice() };
}

/**
 * The reference step in this thread: each shard's gradients and BatchNorm statistics from the same
 * state, then the weighted means, then the trainer's own update. Returns the weighted losses and
 * the mean gradient of every trainable variable (in trainableVariables order).
 */
async function referenceStep(state: TrainingState, batch: HostBatch, lr: number, workers: number): Promise<{ losses: number[]; grads: Float32Array[] }> {
  const { trainer, sgd } = state;
  const { trainable, synced } = dataParallelLayout(state);
  const before = synced.map((v) => v.dataSync().slice());
  const sizes = shardSizes(batch.size, workers);
  const gradSums = trainable.map((v) => new Float64Array(v.size));
  const statSums = synced.map((v) => new Float64Array(v.size));
  const hasGrad = new Set<tf.Variable>();
  let lossSums: number[] = [];
  let first = 0;
  for (const size of sizes.filter((s) => s > 0)) {
    synced.forEach((v, i) => v.assign(tf.tensor(before[i]!, v.shape)));
    const x = tf.tensor4d(batch.x.slice(first * 784, (first + size) * 784), [size, 28, 28, 1]);
    const y = tf.tensor1d(batch.y.slice(first, first + size), 'int32');
    first += size;
    const { grads, losses } = trainer.computeGradients(x, y);
    const values = await lossValues(losses);
    lossSums = values.map((l, k) => (lossSums[k] ?? 0) + size * l);
    trainable.forEach((v, i) => {
      const g = grads.get(v);
      if (!g) return;
      hasGrad.add(v);
      g.dataSync().forEach((value, j) => (gradSums[i]![j]! += size * value));
    });
    synced.forEach((v, i) => v.dataSync().forEach((value, j) => (statSums[i]![j]! += size * value)));
    tf.dispose([x, y, ...grads.values()]);
  }
  const mean = (sums: Float64Array) => Float32Array.from(sums, (s) => s / batch.size);
  synced.forEach((v, i) => v.assign(tf.tensor(mean(statSums[i]!), v.shape)));
  const grads = new Map(trainable.filter((v) => hasGrad.has(v)).map((v) => [v, tf.tensor(mean(gradSums[trainable.indexOf(v)]!), v.shape)] as [tf.Variable, tf.Tensor]));
  sgd.setLearningRate(lr);
  trainer.applyGradients(grads, sgd);
  tf.dispose([...grads.values()]);
  return { losses: lossSums.map((s) => s / batch.size), grads: gradSums.map(mean) };
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
};

/** Max |a - b| over the whole training state: weights and statistics, and momentum buffers. */
function stateDifference(a: TrainingState, b: TrainingState): { state: number; momentum: number } {
  const [la, lb] = [dataParallelLayout(a).state, dataParallelLayout(b).state];
  const state = Math.max(...la.map((v, i) => maxDiff(v.dataSync(), lb[i]!.dataSync())));
  const [sa, sb] = [a.sgd.getState(la), b.sgd.getState(lb)];
  expect(sa.step).toBe(sb.step);
  expect(sa.buffers.map((x) => x.index)).toEqual(sb.buffers.map((x) => x.index));
  const momentum = Math.max(...sa.buffers.map((buf, i) => maxDiff(buf.values, sb.buffers[i]!.values)));
  return { state, momentum };
}

describe('data-parallel training', () => {
  const open: DataParallelTrainer[] = [];
  const states: TrainingState[] = [];
  const tmp = useTempDir();

  beforeAll(async () => {
    await selectBackend('wasm');
  });

  afterEach(async () => {
    for (const p of open.splice(0)) await p.close();
    for (const s of states.splice(0)) dispose(s);
  });

  it('cuts a batch into even shards of at least 2 images, in order', () => {
    expect(shardSizes(16, 2)).toEqual([8, 8]);
    expect(shardSizes(17, 3)).toEqual([6, 6, 5]);
    expect(shardSizes(5, 4)).toEqual([3, 2, 0, 0]);
    expect(shardSizes(1, 2)).toEqual([1, 0]);
  });

  for (const method of ['e2e', 'dgl'] as const) {
    it(`${method}: 2 workers give the single-thread gradients of the same shards (per-shard BatchNorm), then the same state`, async () => {
      const reference = build(method);
      const parallelState = build(method);
      states.push(reference, parallelState);
      const [first] = await hostBatches(1, 0);
      const rest = await hostBatches(2, 1);
      const parallel = await DataParallelTrainer.create(parallelState, recipe(method), { workers: 2, backend: 'wasm' });
      open.push(parallel);

      // One step: after a run's first step each momentum buffer is g + weightDecay * p0, so it shows the summed gradient.
      const p0 = dataParallelLayout(parallelState).trainable.map((v) => v.dataSync().slice());
      const expected = await referenceStep(reference, first!, lrAt(0), 2);
      const got: number[][] = [];
      await parallel.trainEpoch(copies([first!]), lrAt, (step, losses) => (got[step] = losses));
      const { trainable, state } = dataParallelLayout(parallelState);
      const buffers = parallelState.sgd.getState(state).buffers;
      let gradient = 0;
      trainable.forEach((v, i) => {
        const buffer = buffers.find((b) => b.index === state.indexOf(v))!;
        const g = Float32Array.from(buffer.values, (m, j) => m - 1e-4 * p0[i]![j]!);
        gradient = Math.max(gradient, maxDiff(g, expected.grads[i]!));
      });
      const gradScale = expected.grads.reduce((worst, g) => g.reduce((w, v) => Math.max(w, Math.abs(v)), worst), 0);
      expect(got[0]!.length).toBe(method === 'e2e' ? 1 : 3);
      got[0]!.forEach((l, k) => expect(Math.abs(l - expected.losses[k]!)).toBeLessThanOrEqual(1e-5));

      // Two more steps in a second epoch: the state the workers hand back equals the reference's.
      for (const [i, b] of rest.entries()) await referenceStep(reference, b, lrAt(i), 2);
      await parallel.trainEpoch(copies(rest), lrAt, () => {});
      const after = stateDifference(parallelState, reference);
      console.info(`data-parallel ${method}, 2 workers: max |gradient - reference| ${gradient.toExponential(2)} (largest gradient ${gradScale.toExponential(2)}); after 3 steps max |state - reference| ${after.state.toExponential(2)}, momentum ${after.momentum.toExponential(2)}`);
      expect(gradScale).toBeGreaterThan(1e-3);
      expect(gradient).toBeLessThanOrEqual(1e-5);
      expect(after.state).toBeLessThanOrEqual(1e-5);
      expect(after.momentum).toBeLessThanOrEqual(1e-5);
      expect(parallelState.sgd.stepCount).toBe(3);
      // Per-shard BatchNorm is not the whole batch's: a step on the whole batch in one thread gives other gradients.
      const whole = build(method);
      states.push(whole);
      const x = tf.tensor4d(first!.x, [BATCH, 28, 28, 1]);
      const y = tf.tensor1d(first!.y, 'int32');
      const { grads, losses } = whole.trainer.computeGradients(x, y);
      const wholeGrad = grads.get(dataParallelLayout(whole).trainable[0]!)!.dataSync();
      expect(maxDiff(wholeGrad, expected.grads[0]!)).toBeGreaterThan(1e-6);
      tf.dispose([x, y, ...grads.values(), ...losses]);
    }, 240_000);
  }

  for (const method of ['infopro', 'infopro+hpff', 'dgl+man'] as const) {
    it(`${method}: 2 workers end a step at the single-thread state of the same shards (every replica equal)`, async () => {
      const reference = build(method);
      const parallelState = build(method);
      states.push(reference, parallelState);
      const batches = await hostBatches(2, 0);
      const parallel = await DataParallelTrainer.create(parallelState, recipe(method), { workers: 2, backend: 'wasm' });
      open.push(parallel);
      for (const [i, b] of batches.entries()) await referenceStep(reference, b, lrAt(i), 2);
      // trainEpoch also checks that both workers hold the same state at its end.
      await parallel.trainEpoch(copies(batches), lrAt, () => {});
      const after = stateDifference(parallelState, reference);
      console.info(`data-parallel ${method}, 2 workers, 2 steps: max |state - reference| ${after.state.toExponential(2)}, momentum ${after.momentum.toExponential(2)}`);
      expect(after.state).toBeLessThanOrEqual(1e-5);
      expect(after.momentum).toBeLessThanOrEqual(1e-5);
    }, 240_000);
  }

  it('3 workers on uneven shards (6 + 5 + 5 images) weight each shard by its size', async () => {
    const reference = build('e2e');
    const parallelState = build('e2e');
    states.push(reference, parallelState);
    const batches = await hostBatches(2, 3);
    const parallel = await DataParallelTrainer.create(parallelState, recipe('e2e'), { workers: 3, backend: 'wasm' });
    open.push(parallel);
    expect(shardSizes(BATCH, 3)).toEqual([6, 5, 5]);
    for (const [i, b] of batches.entries()) await referenceStep(reference, b, lrAt(i), 3);
    await parallel.trainEpoch(copies(batches), lrAt, () => {});
    const after = stateDifference(parallelState, reference);
    expect(after.state).toBeLessThanOrEqual(1e-5);
    expect(after.momentum).toBeLessThanOrEqual(1e-5);
  }, 240_000);

  it('two runs with the same seed end at the same weights, bit for bit', async () => {
    const batches = await hostBatches(2, 0);
    const finals: Float32Array[] = [];
    for (let run = 0; run < 2; run++) {
      const state = build('dgl');
      states.push(state);
      const parallel = await DataParallelTrainer.create(state, recipe('dgl'), { workers: 2, backend: 'wasm' });
      open.push(parallel);
      await parallel.trainEpoch(copies(batches), lrAt, () => {});
      finals.push(Float32Array.from(dataParallelLayout(state).state.flatMap((v) => Array.from(v.dataSync()))));
      await parallel.close();
      expect(parallel.liveWorkers).toBe(0);
    }
    expect(Buffer.from(finals[0]!.buffer).equals(Buffer.from(finals[1]!.buffer))).toBe(true);
  }, 240_000);

  it('a worker that fails mid-epoch rejects with its message, frees the one waiting for it at the all-reduce, and leaves no worker running', async () => {
    const state = build('e2e');
    states.push(state);
    const parallel = await DataParallelTrainer.create(state, recipe('e2e'), { workers: 2, backend: 'wasm', fault: { rank: 1, step: 1 } });
    open.push(parallel);
    await expect(parallel.trainEpoch(copies(await hostBatches(3, 0)), lrAt, () => {})).rejects.toThrow('data-parallel worker 1: injected fault at step 1 (test only)');
    expect(parallel.liveWorkers).toBe(0);
    await expect(parallel.trainEpoch(copies([]), lrAt, () => {})).rejects.toThrow('data-parallel training is closed');
  }, 120_000);

  it('refuses workers that would build another trainer than the run\'s, saying so', async () => {
    const state = build('dgl');
    states.push(state);
    await expect(DataParallelTrainer.create(state, recipe('e2e'), { workers: 2, backend: 'wasm' })).rejects.toThrow(/lays out \d+ values per step; the coordinator \d+: they built different trainers/);
    await expect(DataParallelTrainer.create(state, recipe('dgl'), { workers: 0 })).rejects.toThrow('data-parallel training needs 1 to 64 workers, got 0');
  }, 120_000);

  it('refuses data-parallel workers together with module-parallel stages, saying what to set', () => {
    const refused = trainConfig.safeParse({ method: 'dgl', split: 'k2', stages: 2, workers: 2 });
    expect(refused.success).toBe(false);
    expect(refused.error!.issues[0]!.message).toContain('set workers to 1 to pipeline the modules, or stages to 1');
    expect(trainConfig.safeParse({ method: 'dgl', split: 'k2', stages: 2 }).success).toBe(true);
    expect(trainConfig.safeParse({ method: 'dgl', workers: 0 }).success).toBe(false);
  });

  it('a run with workers = 2 trains to done through the job system and records its workers; a run naming none records every core', async () => {
    const s = createStudio({ host: 'web', dbPath: path.join(tmp(), 'studio.sqlite') });
    try {
      const project = s.store.projects.create({ name: 'p' });
      const { id: experimentId } = s.store.projects.createExperiment({ projectId: project.id, name: 'e', kind: 'local-learning' });
      const config = { method: 'dgl', split: 'k2', epochs: 1, batchSize: 16, trainLimit: 48, testLimit: 32, backend: 'wasm', workers: 2 };
      const started = await s.dispatch('runs:start', { experimentId, name: 'dp', config });
      if (!started.ok) throw new Error(started.error.message);
      const run = started.result as Run;
      expect(run.config).toMatchObject({ workers: 2 });
      const outcome = await s.jobs.wait(run.id);
      expect(outcome.run.status).toBe('done');
      const losses = s.store.metrics.series(run.id).filter((series) => series.scope === 'step');
      expect(losses.map((series) => series.steps)).toEqual([[1, 2, 3], [1, 2, 3]]);
      expect(losses.every((series) => series.values.every(Number.isFinite))).toBe(true);

      const defaulted = await s.dispatch('runs:start', { experimentId, name: 'all cores', config: { ...config, workers: undefined, epochs: 1 } });
      if (!defaulted.ok) throw new Error(defaulted.error.message);
      const second = defaulted.result as Run;
      expect(second.config).toMatchObject({ workers: (await import('node:os')).availableParallelism() });
      await s.dispatch('runs:cancel', { id: second.id });
      await s.jobs.wait(second.id);
    } finally {
      await s.close();
    }
  }, 240_000);
});
