/** Local-learning training runs as jobs: their settings, and what their worker is given. */
import { availableParallelism } from 'node:os';
import { ApiError } from '../../shared/api/errors';
import { moduleParallelRefusal, type TrainConfig, trainConfig } from '../../shared/engine/config';
import { starvedModules } from '../../shared/engine/gradient-reach';
import { parseOrBadRequest } from '../api/dispatch';
import { MAX_DATA_WORKERS } from '../engine/parallel/data-parallel-trainer';
import { hasCheckpoint } from '../engine/train/checkpoint';
import { segmentsFor } from '../../shared/engine/splits';
import { runRecord } from '../../shared/engine/resolve-settings';
import { resolvedInput } from '../engine/train/run-input';
import { resolveCuts, runFilesDir, savedConfig } from '../engine/train/run-config';
import type { TrainingJob } from '../engine/train/train-run';
import type { JobKindHandler } from './kinds';
import { errorMessage } from './run-ledger';

/** Backends that use every core (libtensorflow) or a GPU by themselves: one worker feeds them. */
const SELF_PARALLEL_BACKENDS: readonly string[] = ['tensorflow-gpu', 'webgpu', 'tensorflow'];

/**
 * Data-parallel workers when a run names none: every core on the CPU backends, one with
 * module-parallel stages (the two do not combine) or a backend named that parallelises itself.
 */
export function defaultWorkers(config: Pick<TrainConfig, 'stages' | 'backend'>): number {
  if (config.stages > 1 || (config.backend && SELF_PARALLEL_BACKENDS.includes(config.backend))) return 1;
  return Math.min(availableParallelism(), MAX_DATA_WORKERS);
}

export const localLearningJobs: JobKindHandler = {
  configure(input, { datasets }) {
    const config = parseOrBadRequest(trainConfig, input, 'training settings');
    let cuts;
    try {
      cuts = resolveCuts(config);
    } catch (error) {
      throw new ApiError('bad_request', `Invalid split: ${errorMessage(error)} Nothing was changed.`);
    }
    if (config.stages > 1) {
      const refusal = moduleParallelRefusal(config.method);
      if (refusal) throw new ApiError('bad_request', `${refusal} Set stages to 1. Nothing was changed.`);
      const modules = segmentsFor(config.depth, cuts, 'infopro').length;
      if (config.stages > modules) throw new ApiError('bad_request', `This split has ${modules} modules, so at most ${modules} stages can train in parallel (got ${config.stages}). Nothing was changed.`);
    }
    let dataset;
    try {
      const source = datasets.source(config.dataset);
      // The built-in MNIST's shape is known without decoding it.
      dataset = source.kind === 'mnist' ? { kind: source.kind, name: source.name, shape: { channels: 1 } } : datasets.get(config.dataset);
    } catch (error) {
      throw new ApiError('bad_request', `${errorMessage(error)} Choose a data set from the Data sets workspace. Nothing was changed.`);
    }
    // The record keeps every default resolved: the data set's normalisation, no padding, MNIST's split.
    const fed = resolvedInput(config, dataset.kind);
    const { channels } = dataset.shape;
    if (fed.normalization.mean.length !== channels) {
      throw new ApiError('bad_request', `Invalid training settings: input.normalization: ${dataset.name} has ${channels} channel${channels === 1 ? '' : 's'}, so mean and std need ${channels} value${channels === 1 ? '' : 's'} each (got ${fed.normalization.mean.length}). Nothing was changed.`);
    }
    // The run records how many workers it trains on: a resumed run keeps them, whatever machine it resumes on.
    return { ...runRecord(config, cuts), input: fed, workers: config.workers ?? defaultWorkers(config) };
  },

  checkResumable(run, { store }) {
    if (run.status === 'done') throw new ApiError('conflict', `Run ${run.id} finished training; there is nothing to resume.`);
    if (run.status === 'running' || run.status === 'queued') throw new ApiError('conflict', `Run ${run.id} is ${run.status} already.`);
    const dir = runFilesDir(store.path, run.id);
    if (!dir || !hasCheckpoint(dir)) throw new ApiError('conflict', `Run ${run.id} has no checkpoint: it stopped before its first epoch ended. Train it again instead.`);
    // A run stored before the gradient rule may starve a module; continuing it would not train that module either.
    const { config, cuts } = savedConfig(run.config);
    const starved = starvedModules(config, cuts);
    if (starved) throw new ApiError('conflict', `Run ${run.id} cannot usefully continue: ${starved.message} Launch it again with that changed.`);
  },

  prepare(run, { store, datasets }) {
    const { config, cuts } = savedConfig(run.config);
    const filesDir = runFilesDir(store.path, run.id);
    if (!filesDir || !hasCheckpoint(filesDir)) store.metrics.clear(run.id);
    const payload: TrainingJob = { runId: run.id, config, cuts, dataset: datasets.source(config.dataset), filesDir };
    return { payload, filesDir };
  },
};
