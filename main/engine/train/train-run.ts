/**
 * One training run's work, with no store in sight: it starts the backend, opens the data set,
 * builds the net and the trainer, continues from the run's checkpoint if it has one, trains
 * epoch by epoch on the reference schedule, checkpoints every epoch and saves the weights. All
 * it learns goes out as job events (../../jobs/events.ts), so the same code runs in a job
 * worker (events posted to the main side) or in-process (events applied to the store directly).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers the gradients of every op (tfjs-core alone lacks some)
import type { MetricPoint } from '../../../shared/api/schemas';
import type { TrainConfig } from '../../../shared/engine/config';
import type { Cut } from '../../../shared/engine/splits';
import { batchCount, type HostBatch, iterateBatches } from '../../data/batches';
import type { DatasetSource } from '../../data/catalog';
import { preprocessingOf } from '../../data/preprocess';
import type { Dataset } from '../../data/types';
import { type EmitJobEvent, JobCancelled } from '../../jobs/events';
import { APP_ROOT } from '../../platform/app-root';
import { collectEnvironment } from '../../platform/environment';
import { engineVersions, selectBackend } from '../backend/select';
import { MEMORY_METHOD, type MemoryPeak, measurePeak } from '../memory/probe';
import { createResNet, type ResNetModel } from '../nets/resnet-model';
import { DataParallelTrainer } from '../parallel/data-parallel-trainer';
import { ModuleParallelTrainer } from '../parallel/module-parallel-trainer';
import { hasCheckpoint, loadCheckpoint, type RunPosition, saveCheckpoint, type TrainingState } from './checkpoint';
import { createTrainer } from './create-trainer';
import { openRunDataset } from './run-input';
import { cosineAt, learningRate } from './schedule';
import { SgdNesterov } from './sgd';
import { lossValues } from './trainer';
import { saveWeights, WEIGHTS_FORMAT } from './weights';

/** Everything a worker needs to train a run: plain data, so it crosses a worker boundary. */
export interface TrainingJob {
  runId: number;
  config: TrainConfig;
  cuts: Cut[];
  dataset: DatasetSource;
  /** Where the checkpoint and weights go; null keeps no files (an in-memory database). */
  filesDir: string | null;
}

export interface TrainingResult {
  runId: number;
  backend: string;
  testAccuracy: number;
  bestTestAccuracy: number;
  peakBytes: number;
}

/** True once the run should stop; checked between steps. */
export type StopSignal = () => boolean;

/**
 * The images a run's accuracy is measured on: all of a split, or a fixed random subset (seed 0)
 * when limited, since split files are often sorted by class; never augmented. Exported so that
 * a check of an exported network can use exactly the same images.
 */
export function evaluationBatches(dataset: Dataset, split: 'train' | 'test', limit: number | undefined): AsyncGenerator<HostBatch> {
  const limited = limit !== undefined;
  return iterateBatches(dataset, split, { batchSize: 256, shuffle: limited, seed: 0, epoch: 0, augment: false, ...(limited ? { limit } : {}) });
}

export const testBatches = (dataset: Dataset, testLimit: number | undefined) => evaluationBatches(dataset, 'test', testLimit);

/** Accuracy of the deployable network (backbone + real head, eval mode) on evaluationBatches. */
export async function accuracy(model: ResNetModel, dataset: Dataset, limit: number | undefined, split: 'train' | 'test' = 'test'): Promise<number> {
  return (await accuracyOf((x) => model.forward(x, false), dataset, limit, split)).accuracy;
}

/** Accuracy of any classifier of normalised NHWC images (e.g. an exported model's predict) on evaluationBatches, and how many images that was. */
export async function accuracyOf(logits: (x: tf.Tensor4D) => tf.Tensor2D, dataset: Dataset, limit: number | undefined, split: 'train' | 'test' = 'test'): Promise<{ accuracy: number; images: number }> {
  let correct = 0;
  let seen = 0;
  for await (const batch of evaluationBatches(dataset, split, limit)) {
    const { x, y } = batchTensors(batch);
    const hits = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits(x), 1), y), 'int32')));
    correct += (await hits.data())[0]!;
    tf.dispose([x, y, hits]);
    seen += batch.size;
  }
  return { accuracy: seen ? correct / seen : 0, images: seen };
}

/** Training accuracy is measured like test accuracy (eval mode), on at most this many of the run's training images. */
export const TRAIN_ACCURACY_IMAGES = 1024;

function batchTensors(batch: HostBatch): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const { height, width, channels } = batch.shape;
  return { x: tf.tensor4d(batch.x, [batch.size, height, width, channels]), y: tf.tensor1d(batch.y, 'int32') };
}

/**
 * Train the run from its checkpoint (or from the start) to its last epoch. Returns when the
 * weights are saved; the caller marks the run done, then drops the checkpoint.
 */
export async function trainRun(job: TrainingJob, emit: EmitJobEvent, shouldStop: StopSignal = () => false): Promise<TrainingResult> {
  const { config } = job;
  const backend = await selectBackend(config.backend);
  const dataset = await openRunDataset(job.dataset, config);
  const model = createResNet(config.depth, dataset.shape, dataset.classes.length, config.seed);
  // Data-parallel workers build their own trainers from the same recipe.
  const recipe = { method: config.method, cuts: job.cuts, normalization: preprocessingOf(dataset).normalization, seed: config.seed, settings: config };
  const trainer = createTrainer({ model, ...recipe });
  const state: TrainingState = { model, trainer, sgd: new SgdNesterov({ lr: config.lr }) };
  try {
    const from = job.filesDir && hasCheckpoint(job.filesDir) ? loadCheckpoint(job.filesDir, state) : { epoch: 0, step: 0, best: 0, last: 0, peakBytes: 0 };
    emit({ type: 'started', backend: backend.id, environment: collectEnvironment(backend.id, APP_ROOT, engineVersions(backend.id)) });
    if (from.epoch > 0) {
      // Again, in case the process died between the checkpoint and the store's commit (rewriting a point is harmless).
      emit({ type: 'records', metrics: [{ scope: 'epoch', step: from.epoch, key: 'test_acc', value: from.last, at: Date.now() }], commit: true });
    }
    // Runs stored before data-parallel training have no workers field: they trained on one thread.
    const workers = config.workers ?? 1;
    const pipeline =
      config.stages > 1
        ? await ModuleParallelTrainer.create(state, config, { stages: config.stages, backend: backend.id })
        : workers > 1
          ? await DataParallelTrainer.create(state, recipe, { workers, backend: backend.id })
          : null;
    let position: RunPosition;
    try {
      position = await trainEpochs(job, dataset, state, from, emit, shouldStop, pipeline);
    } finally {
      await pipeline?.close();
    }
    if (job.filesDir) {
      const { bytes } = await saveWeights(model, job.filesDir);
      emit({ type: 'artifact', artifact: { kind: 'weights', path: job.filesDir, bytes, meta: { format: WEIGHTS_FORMAT } } });
    }
    return { runId: job.runId, backend: backend.id, testAccuracy: position.last, bestTestAccuracy: position.best, peakBytes: position.peakBytes };
  } finally {
    state.sgd.dispose();
    trainer.dispose();
    model.dispose();
  }
}

/** Train from the epoch after `from` to the end, emitting as it goes and checkpointing every epoch. */
async function trainEpochs(job: TrainingJob, dataset: Dataset, state: TrainingState, from: RunPosition, emit: EmitJobEvent, shouldStop: StopSignal, pipeline: ModuleParallelTrainer | DataParallelTrainer | null): Promise<RunPosition> {
  const { config } = job;
  const { model, trainer, sgd } = state;
  const trainLength = Math.min(dataset.splits.train.length, config.trainLimit ?? Infinity);
  const stepsPerEpoch = batchCount(trainLength, config.batchSize);
  const totalSteps = stepsPerEpoch * config.epochs;
  const started = performance.now();
  const position = { ...from };
  const firstStep = position.step;
  const learningRateAt = (step: number, epoch: number) =>
    config.schedule === 'cosine-steps'
      ? cosineAt(config.lr, config.epochs, config.warmupEpochs, step / stepsPerEpoch)
      : learningRate({ kind: config.schedule, lr0: config.lr, epochs: config.epochs, warmupEpochs: config.warmupEpochs }, epoch);

  for (let epoch = from.epoch + 1; epoch <= config.epochs; epoch++) {
    const epochStarted = performance.now();
    let epochImages = 0;
    /** A step's losses are in: record them and say how far the run has got. */
    const stepDone = (losses: number[], images: number) => {
      epochImages += images;
      position.step++;
      const now = Date.now();
      emit({ type: 'records', metrics: losses.map((value, module) => ({ scope: 'step', step: position.step, key: `loss/m${module}`, value, at: now })) });
      const imagesPerSecond = ((position.step - firstStep) * config.batchSize) / ((performance.now() - started) / 1000);
      const etaSeconds = ((totalSteps - position.step) * config.batchSize) / imagesPerSecond;
      emit({ type: 'progress', progress: { epoch, epochs: config.epochs, step: position.step - (epoch - 1) * stepsPerEpoch, stepsPerEpoch, losses, imagesPerSecond, etaSeconds } });
    };
    const batches = iterateBatches(dataset, 'train', { batchSize: config.batchSize, shuffle: true, seed: config.seed, epoch, augment: config.augment, limit: trainLength });
    if (position.step === 0) {
      // The run's first step trains here, measured whole and per phase (module): every method's figure comes from the same probe.
      const first = await batches.next();
      if (!first.done) stepDone(await measuredFirstStep(first.value, state, learningRateAt(0, epoch), emit, position), first.value.size);
    }
    if (pipeline) {
      // The rest of the epoch on the stage (or data-parallel) workers; they hand the trained state back at its end.
      const at = position.step;
      await pipeline.trainEpoch(batches, (i) => learningRateAt(at + i, epoch), (_, losses) => {
        if (shouldStop()) throw new JobCancelled();
        stepDone(losses, config.batchSize);
      });
    } else {
      for await (const batch of batches) {
        if (shouldStop()) throw new JobCancelled();
        const { x, y } = batchTensors(batch);
        sgd.setLearningRate(learningRateAt(position.step, epoch));
        const losses = await lossValues(trainer.step(x, y, sgd));
        tf.dispose([x, y]);
        stepDone(losses, batch.size);
      }
    }
    const epochSpeed = epochImages / ((performance.now() - epochStarted) / 1000);
    position.last = await accuracy(model, dataset, config.testLimit);
    position.best = Math.max(position.best, position.last);
    position.epoch = epoch;
    const trainAccuracy = await accuracy(model, dataset, Math.min(trainLength, TRAIN_ACCURACY_IMAGES), 'train');
    const at = Date.now();
    // Committed before the checkpoint exists, so a resumed run never lacks an epoch it skips.
    const epochPoints: MetricPoint[] = [
      { scope: 'epoch', step: epoch, key: 'test_acc', value: position.last, at },
      { scope: 'epoch', step: epoch, key: 'train_acc', value: trainAccuracy, at },
      { scope: 'epoch', step: epoch, key: 'images_per_second', value: epochSpeed, at },
    ];
    emit({ type: 'records', metrics: epochPoints, commit: true });
    if (job.filesDir) {
      await saveCheckpoint(job.filesDir, state, position);
      emit({ type: 'checkpoint', epoch });
    }
  }
  return position;
}

/** One training step with the memory probe on: records the step's peak and each module's; returns the losses. */
async function measuredFirstStep(batch: HostBatch, state: TrainingState, lr: number, emit: EmitJobEvent, position: RunPosition): Promise<number[]> {
  state.sgd.setLearningRate(lr);
  const { memory, losses } = await measuredStep(batch, state);
  position.peakBytes = memory.peakBytes;
  const at = Date.now();
  const perModule = memory.phasePeakBytes.map((bytes, module) => ({ step: 0, module, peakBytes: bytes, method: MEMORY_METHOD, at }));
  emit({ type: 'records', memory: [{ step: 0, module: null, peakBytes: memory.peakBytes, method: MEMORY_METHOD, at }, ...perModule] });
  return losses;
}

/** One training step under the memory probe (./../memory/probe.ts), whole and per phase (module). */
export async function measuredStep(batch: HostBatch, { trainer, sgd }: TrainingState): Promise<{ memory: MemoryPeak; losses: number[] }> {
  const { x, y } = batchTensors(batch);
  let lossTensors: tf.Scalar[] = [];
  try {
    const memory = await measurePeak((onPhase) => {
      lossTensors = trainer.step(x, y, sgd, onPhase);
    });
    return { memory, losses: await lossValues(lossTensors) };
  } finally {
    tf.dispose([x, y]);
  }
}
