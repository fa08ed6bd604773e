/**
 * The epoch loop every task run (super-resolution, detection) shares inside its job worker: it
 * continues from the run's checkpoint if it has one and trains epoch by epoch. Every step's loss
 * per module goes out as job events (the first step's memory too); every epoch ends with the
 * task's test scores, its preview and a checkpoint (./task-checkpoint.ts). Batches are drawn from
 * (seed, epoch), so a resumed run draws exactly what an uninterrupted one does. What differs by
 * task comes in as parameters: the batches, the step, the scorer, the preview.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MetricPoint } from '../../shared/api/schemas';
import type { BackendId } from '../../shared/ids';
import { engineVersions } from '../engine/backend/select';
import { mixSeed } from '../data/random';
import { MEMORY_METHOD, measurePeak } from '../engine/memory/probe';
import { lossValues, type PhaseHook } from '../engine/train/trainer';
import { APP_ROOT } from '../platform/app-root';
import { collectEnvironment } from '../platform/environment';
import { type EmitJobEvent, JobCancelled } from './events';
import { hasTaskCheckpoint, loadTaskCheckpoint, saveTaskCheckpoint } from './task-checkpoint';

/** Where a run stands after an epoch: saved in its checkpoint, and its result at the end. */
export type TaskPosition<K extends string> = { epoch: number; peakBytes: number } & Record<K, number>;

export interface TaskEpochs<B, K extends string, S extends Record<K, number>> {
  settings: { epochs: number; stepsPerEpoch: number; batchSize: number; seed: number };
  /** Checkpoint and preview go here; null keeps no files. */
  filesDir: string | null;
  backend: BackendId;
  /** The checkpoint's format tag (one task never reads another's). */
  checkpointFormat: string;
  /** Every variable the checkpoint keeps beside Adam's state, in a fixed order. */
  state: () => tf.Variable[];
  optimizer: tf.Optimizer;
  /** The trainer's modules: the memory probe's phases past them (the optimiser update) are no module's. */
  modules: number;
  /** The epoch's batches, drawn from the epoch's seed. */
  batches: (epochSeed: number) => () => B;
  step: (batch: B, onPhase?: PhaseHook) => tf.Scalar[];
  release: (batch: B) => void;
  /** The test scores recorded each epoch, by the metric key each is recorded under, in order. */
  metrics: Record<K, string>;
  evaluate: () => S;
  preview: (filesDir: string, epoch: number, scores: S) => void;
}

/** Train the run's remaining epochs; returns where it ends (throws JobCancelled when stopped). */
export async function runTaskEpochs<B, K extends string, S extends Record<K, number>>(run: TaskEpochs<B, K, S>, emit: EmitJobEvent, shouldStop: () => boolean): Promise<TaskPosition<K>> {
  const { settings, filesDir, optimizer } = run;
  const keys = Object.keys(run.metrics) as K[];
  const scoresOf = (scores: S) => Object.fromEntries(keys.map((key): [K, number] => [key, scores[key]])) as Record<K, number>;
  let position = { epoch: 0, ...Object.fromEntries(keys.map((key) => [key, 0])), peakBytes: 0 } as TaskPosition<K>;
  if (filesDir && hasTaskCheckpoint(filesDir, run.checkpointFormat)) position = await loadTaskCheckpoint<TaskPosition<K>>(filesDir, run.checkpointFormat, run.state(), optimizer);
  emit({ type: 'started', backend: run.backend, environment: collectEnvironment(run.backend, APP_ROOT, engineVersions(run.backend)) });
  const { epochs, stepsPerEpoch, batchSize } = settings;
  let stepSeconds = 0;
  let stepsHere = 0;
  for (let epoch = position.epoch + 1; epoch <= epochs; epoch++) {
    const next = run.batches(mixSeed(settings.seed, epoch));
    const epochStarted = performance.now();
    for (let step = 1; step <= stepsPerEpoch; step++) {
      // A turn of the event loop, so a cancel is seen on backends whose awaits resolve at once.
      await new Promise((resolve) => setImmediate(resolve));
      if (shouldStop()) throw new JobCancelled();
      const globalStep = (epoch - 1) * stepsPerEpoch + step;
      const started = performance.now();
      const batch = next();
      let losses: number[];
      try {
        if (globalStep === 1) {
          // The first step runs under the memory probe: whole step and each module, as classification's.
          let tensors: tf.Scalar[] = [];
          const memory = await measurePeak((onPhase) => {
            tensors = run.step(batch, onPhase);
          });
          losses = await lossValues(tensors);
          position.peakBytes = memory.peakBytes;
          const at = Date.now();
          const perModule = memory.phasePeakBytes.slice(0, run.modules).map((bytes, module) => ({ step: 0, module, peakBytes: bytes, method: MEMORY_METHOD, at }));
          emit({ type: 'records', memory: [{ step: 0, module: null, peakBytes: memory.peakBytes, method: MEMORY_METHOD, at }, ...perModule] });
        } else {
          losses = await lossValues(run.step(batch));
        }
      } finally {
        run.release(batch);
      }
      stepSeconds += (performance.now() - started) / 1000;
      stepsHere++;
      const at = Date.now();
      emit({ type: 'records', metrics: losses.map((value, module) => ({ scope: 'step', step: globalStep, key: `loss/m${module}`, value, at })) });
      const mean = stepSeconds / stepsHere;
      emit({ type: 'progress', progress: { epoch, epochs, step, stepsPerEpoch, losses, imagesPerSecond: batchSize / mean, etaSeconds: (epochs * stepsPerEpoch - globalStep) * mean } });
    }
    const epochSeconds = (performance.now() - epochStarted) / 1000;
    const scores = run.evaluate();
    position = { ...position, epoch, ...scoresOf(scores) };
    if (filesDir) run.preview(filesDir, epoch, scores);
    const at = Date.now();
    const points: MetricPoint[] = [
      ...keys.map((key): MetricPoint => ({ scope: 'epoch', step: epoch, key: run.metrics[key], value: scores[key], at })),
      { scope: 'epoch', step: epoch, key: 'images_per_second', value: (stepsPerEpoch * batchSize) / epochSeconds, at },
    ];
    emit({ type: 'records', metrics: points, commit: true });
    if (filesDir) {
      await saveTaskCheckpoint(filesDir, run.checkpointFormat, run.state(), optimizer, position);
      emit({ type: 'checkpoint', epoch });
    }
  }
  return position;
}
