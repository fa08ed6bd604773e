/**
 * A whole training run, recorded as it goes: it starts the backend, opens the data set, builds
 * the net and the trainer, trains epoch by epoch on the reference schedule, and writes every
 * module's step losses, the epoch accuracies, the step's peak memory and the environment into
 * the store. The CLI runs it in-process today; the job system will run it in a worker.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the gradients of every op (tfjs-core alone lacks some)
import type { MetricPoint } from '../../../shared/api/schemas';
import type { TrainConfig } from '../../../shared/engine/config';
import { type Cut, splitPresets, validateCuts } from '../../../shared/engine/splits';
import { type HostBatch, iterateBatches, batchCount } from '../../data/batches';
import type { DatasetCatalog } from '../../data/catalog';
import { PREPROCESSING } from '../../data/preprocess';
import type { Dataset } from '../../data/types';
import { APP_ROOT } from '../../platform/app-root';
import { collectEnvironment } from '../../platform/environment';
import { THIS_PROCESS } from '../../platform/process-owner';
import { RecordBuffer, type Store } from '../../store';
import type { Artifact } from '../../store/metrics';
import { type BackendChoice, selectBackend } from '../backend/select';
import { MEMORY_METHOD, measurePeak } from '../memory/probe';
import { createResNet, type ResNetModel } from '../nets/resnet-model';
import { hasCheckpoint, loadCheckpoint, removeCheckpoint, type RunPosition, saveCheckpoint, type TrainingState } from './checkpoint';
import { createTrainer } from './create-trainer';
import { lossValues } from './trainer';
import { cosineAt, learningRate } from './schedule';
import { SgdNesterov } from './sgd';
import { loadWeights, saveWeights } from './weights';
import { trainConfig } from '../../../shared/engine/config';

export interface TrainingProgress {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  losses: number[];
  imagesPerSecond: number;
  /** Seconds left at the current speed. */
  etaSeconds: number;
}

export interface TrainingResult {
  runId: number;
  backend: string;
  testAccuracy: number;
  bestTestAccuracy: number;
  peakBytes: number;
}

export function resolveCuts(config: TrainConfig): Cut[] {
  if (typeof config.split !== 'string') return validateCuts(config.depth, config.split);
  const preset = splitPresets(config.depth).find((p) => p.id === config.split);
  if (!preset) {
    throw new Error(`Split "${config.split}" is not a preset of ResNet-${config.depth}: choose one of ${splitPresets(config.depth).map((p) => p.id).join(', ')}, or give a cut list like [[1,0],[2,0]].`);
  }
  return [...preset.cuts];
}

/** Where a run's files live: beside the database, so moving the database folder moves them too. */
export function runDir(dbPath: string, runId: number): string {
  return path.join(path.dirname(dbPath), 'runs', String(runId));
}

/** Where a run's checkpoint and weights go; null for an in-memory database, which keeps no files. */
const filesDir = (store: Store, runId: number): string | null => (store.path === ':memory:' ? null : runDir(store.path, runId));

/**
 * The test images a run's accuracy is measured on: all of them, or a fixed random subset (seed 0)
 * when limited, since split files are often sorted by class. Exported so that a check of an
 * exported network can use exactly the same images.
 */
export function testBatches(dataset: Dataset, testLimit: number | undefined): AsyncGenerator<HostBatch> {
  const limited = testLimit !== undefined;
  return iterateBatches(dataset, 'test', { batchSize: 256, shuffle: limited, seed: 0, epoch: 0, augment: false, ...(limited ? { limit: testLimit } : {}) });
}

/** Test accuracy of the deployable network (backbone + real head) on testBatches. */
async function accuracy(model: ResNetModel, dataset: Dataset, testLimit: number | undefined): Promise<number> {
  let correct = 0;
  let seen = 0;
  for await (const batch of testBatches(dataset, testLimit)) {
    const { height, width, channels } = batch.shape;
    const x = tf.tensor4d(batch.x, [batch.size, height, width, channels]);
    const y = tf.tensor1d(batch.y, 'int32');
    const hits = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(model.forward(x, false), 1), y), 'int32')));
    correct += (await hits.data())[0]!;
    hits.dispose();
    seen += batch.size;
    tf.dispose([x, y]);
  }
  return seen ? correct / seen : 0;
}

interface Deps {
  store: Store;
  datasets: DatasetCatalog;
}

/** Everything a run trains with, built from its config. */
interface Session extends TrainingState {
  runId: number;
  config: TrainConfig;
  dataset: Dataset;
  backend: string;
}

async function openSession(deps: Deps, config: TrainConfig, cuts: Cut[], runId: (backend: BackendChoice, dataset: Dataset) => number): Promise<Session> {
  const backend = await selectBackend(config.backend);
  const dataset = await deps.datasets.open(config.dataset);
  const id = runId(backend, dataset);
  const model = createResNet(config.depth, dataset.shape, dataset.classes.length, config.seed);
  const trainer = createTrainer({ model, method: config.method, cuts, normalization: PREPROCESSING[dataset.kind].normalization, seed: config.seed, settings: config });
  return { runId: id, config, dataset, backend: backend.id, model, trainer, sgd: new SgdNesterov({ lr: config.lr }) };
}

export async function runTraining(deps: Deps, config: TrainConfig, run: { experimentId: number; name: string }, onProgress: (progress: TrainingProgress) => void = () => {}): Promise<TrainingResult> {
  const cuts = resolveCuts(config);
  const session = await openSession(deps, config, cuts, (backend) =>
    deps.store.runs.create({
      experimentId: run.experimentId,
      name: run.name,
      kind: 'local-learning',
      config: { ...config, cuts },
      seed: config.seed,
      environment: collectEnvironment(backend.id, APP_ROOT, { tfjs: tf.version_core }),
    }).id,
  );
  return trainEpochs(deps, session, { epoch: 0, step: 0, best: 0, last: 0, peakBytes: 0 }, onProgress);
}

/**
 * Continue a run that stopped (killed, failed, cancelled) from its last end-of-epoch
 * checkpoint. Data order and augmentation depend only on the seed and the epoch, so with the
 * same backend it ends exactly where an uninterrupted run would.
 */
export async function resumeTraining(deps: Deps, runId: number, onProgress: (progress: TrainingProgress) => void = () => {}): Promise<TrainingResult> {
  const run = deps.store.runs.get(runId);
  if (run.status === 'done') throw new Error(`Run ${runId} finished training; there is nothing to resume.`);
  const dir = filesDir(deps.store, runId);
  if (!dir || !hasCheckpoint(dir)) throw new Error(`Run ${runId} has no checkpoint: it stopped before its first epoch ended. Train it again instead.`);
  const { config, cuts } = savedConfig(run.config);
  const session = await openSession(deps, config, cuts, () => runId);
  let position: RunPosition;
  try {
    position = loadCheckpoint(dir, session);
  } catch (error) {
    closeSession(session);
    throw error;
  }
  return trainEpochs(deps, session, position, onProgress);
}

/** A stored run config split back into the validated settings and the resolved cuts. */
function savedConfig(stored: Record<string, unknown>): { config: TrainConfig; cuts: Cut[] } {
  const config = trainConfig.parse(Object.fromEntries(Object.entries(stored).filter(([key]) => key !== 'cuts')));
  return { config, cuts: Array.isArray(stored.cuts) ? validateCuts(config.depth, stored.cuts as number[][]) : resolveCuts(config) };
}

function closeSession(session: Session): void {
  session.sgd.dispose();
  session.trainer.dispose();
  session.model.dispose();
}

/** Train from the epoch after `from` to the end, recording as it goes and checkpointing every epoch. */
async function trainEpochs(deps: Deps, session: Session, from: RunPosition, onProgress: (progress: TrainingProgress) => void): Promise<TrainingResult> {
  const { runId, config, dataset, model, trainer, sgd } = session;
  const buffer = new RecordBuffer(deps.store.metrics);
  const dir = filesDir(deps.store, runId);
  deps.store.runs.claim(runId, THIS_PROCESS);
  deps.store.runs.setStatus(runId, 'running');
  try {
    const trainLength = Math.min(dataset.splits.train.length, config.trainLimit ?? Infinity);
    const stepsPerEpoch = batchCount(trainLength, config.batchSize);
    const totalSteps = stepsPerEpoch * config.epochs;
    const started = performance.now();
    let { step, peakBytes, best, last } = from;
    const firstStep = step;
    for (let epoch = from.epoch + 1; epoch <= config.epochs; epoch++) {
      if (config.schedule !== 'cosine-steps') {
        sgd.setLearningRate(learningRate({ kind: config.schedule, lr0: config.lr, epochs: config.epochs, warmupEpochs: config.warmupEpochs }, epoch));
      }
      const batches = iterateBatches(dataset, 'train', { batchSize: config.batchSize, shuffle: true, seed: config.seed, epoch, augment: config.augment, limit: trainLength });
      for await (const batch of batches) {
        const { height, width, channels } = batch.shape;
        const x = tf.tensor4d(batch.x, [batch.size, height, width, channels]);
        const y = tf.tensor1d(batch.y, 'int32');
        if (config.schedule === 'cosine-steps') sgd.setLearningRate(cosineAt(config.lr, config.epochs, config.warmupEpochs, step / stepsPerEpoch));
        let lossTensors: tf.Scalar[] = [];
        if (step === 0) {
          // The first step is measured, whole and per phase (module): every method's figure comes from the same probe.
          const memory = await measurePeak((onPhase) => {
            lossTensors = trainer.step(x, y, sgd, onPhase);
          });
          peakBytes = memory.peakBytes;
          const at = Date.now();
          const perModule = memory.phasePeakBytes.map((bytes, module) => ({ step, module, peakBytes: bytes, method: MEMORY_METHOD, at }));
          buffer.push({ runId, memory: [{ step, module: null, peakBytes, method: MEMORY_METHOD, at }, ...perModule] });
        } else lossTensors = trainer.step(x, y, sgd);
        const losses = await lossValues(lossTensors);
        tf.dispose([x, y]);
        step++;
        const now = Date.now();
        const points: MetricPoint[] = losses.map((value, module) => ({ scope: 'step', step, key: `loss/m${module}`, value, at: now }));
        buffer.push({ runId, metrics: points });
        const seconds = (performance.now() - started) / 1000;
        const imagesPerSecond = ((step - firstStep) * config.batchSize) / seconds;
        onProgress({ epoch, epochs: config.epochs, step: step - (epoch - 1) * stepsPerEpoch, stepsPerEpoch, losses, imagesPerSecond, etaSeconds: ((totalSteps - step) * config.batchSize) / imagesPerSecond });
      }
      last = await accuracy(model, dataset, config.testLimit);
      best = Math.max(best, last);
      buffer.push({ runId, metrics: [{ scope: 'epoch', step: epoch, key: 'test_acc', value: last, at: Date.now() }] });
      buffer.flush();
      if (dir) await saveCheckpoint(dir, session, { epoch, step, best, last, peakBytes });
    }
    buffer.flush();
    if (dir) {
      const { bytes } = await saveWeights(model, dir);
      deps.store.metrics.addArtifact({ runId, kind: 'weights', path: dir, bytes, meta: { format: 'blockwise-weights/1' } });
    }
    deps.store.runs.setStatus(runId, 'done');
    // Only once the run is done: a kill before this point leaves a checkpoint to resume from.
    if (dir) removeCheckpoint(dir);
    return { runId, backend: session.backend, testAccuracy: last, bestTestAccuracy: best, peakBytes };
  } catch (error) {
    buffer.flush();
    deps.store.runs.setStatus(runId, 'failed', error instanceof Error ? error.message : String(error));
    throw error;
  } finally {
    closeSession(session);
  }
}

/** A run's saved weights; throws saying why there are none. `use` completes "only runs that finished training can be ...". */
export function savedWeights(store: Store, runId: number, use: string): Artifact {
  const run = store.runs.get(runId);
  const weights = store.metrics.artifacts(runId).find((a) => a.kind === 'weights');
  if (!weights) throw new Error(`Run ${runId} has no saved weights (status ${run.status}): only runs that finished training can be ${use}.`);
  return weights;
}

/**
 * A finished run's network rebuilt on the run's backend with its saved weights, with the
 * settings and data set it was trained with. The caller disposes the model.
 */
export async function loadRunModel(deps: { store: Store; datasets: DatasetCatalog }, runId: number, weights: Artifact): Promise<{ config: TrainConfig; dataset: Dataset; model: ResNetModel }> {
  const run = deps.store.runs.get(runId);
  const { config } = savedConfig(run.config);
  await selectBackend(config.backend);
  const dataset = await deps.datasets.open(config.dataset);
  const model = createResNet(config.depth, dataset.shape, dataset.classes.length, config.seed);
  try {
    loadWeights(model, weights.path);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { config, dataset, model };
}

/** Test accuracy of a finished run's saved network on its data set's test split. */
export async function evaluateRun(deps: { store: Store; datasets: DatasetCatalog }, runId: number, testLimit?: number): Promise<{ accuracy: number; images: number }> {
  const { config, dataset, model } = await loadRunModel(deps, runId, savedWeights(deps.store, runId, 'evaluated'));
  try {
    const limit = testLimit ?? config.testLimit;
    return { accuracy: await accuracy(model, dataset, limit), images: Math.min(limit ?? Infinity, dataset.splits.test.length) };
  } finally {
    model.dispose();
  }
}
