/**
 * Training runs in this thread, for the benchmarks and the engine's tests: the same settings
 * check, ledger and training code as a job in a worker (../../jobs/job-manager.ts), without the
 * worker. Also loading and evaluating a finished run's network.
 */
import { ApiError } from '../../../shared/api/errors';
import type { JobProgress } from '../../../shared/api/progress';
import type { TrainConfig } from '../../../shared/engine/config';
import type { DatasetCatalog } from '../../data/catalog';
import type { Dataset } from '../../data/types';
import type { JobDeps } from '../../jobs/kinds';
import { localLearningJobs } from '../../jobs/local-learning';
import { RunLedger } from '../../jobs/run-ledger';
import type { Store } from '../../store';
import type { Artifact } from '../../store/metrics';
import { selectBackend } from '../backend/select';
import { createResNet, type ResNetModel } from '../nets/resnet-model';
import { savedConfig } from './run-config';
import { openRunDataset } from './run-input';
import { accuracyOf, type TrainingJob, type TrainingResult, trainRun } from './train-run';
import { loadWeights } from './weights';

/** Create a run from `config` and train it to the end here; throws (the run marked failed) if training fails. */
export async function runTraining(deps: JobDeps, config: TrainConfig, run: { experimentId: number; name: string }, onProgress: (progress: JobProgress) => void = () => {}): Promise<TrainingResult> {
  const stored = localLearningJobs.configure(config, deps);
  const created = deps.store.runs.create({ experimentId: run.experimentId, name: run.name, kind: 'local-learning', config: stored, seed: config.seed });
  return trainHere(deps, created.id, onProgress);
}

/**
 * Continue a run that stopped (killed, failed, cancelled) from its last end-of-epoch
 * checkpoint. Data order and augmentation depend only on the seed and the epoch, so with the
 * same backend it ends exactly where an uninterrupted run would.
 */
export async function resumeTraining(deps: JobDeps, runId: number, onProgress: (progress: JobProgress) => void = () => {}): Promise<TrainingResult> {
  localLearningJobs.checkResumable(deps.store.runs.get(runId), deps);
  return trainHere(deps, runId, onProgress);
}

async function trainHere(deps: JobDeps, runId: number, onProgress: (progress: JobProgress) => void): Promise<TrainingResult> {
  const ledger = new RunLedger(deps.store);
  const { payload, filesDir } = localLearningJobs.prepare(deps.store.runs.get(runId), deps);
  ledger.begin(runId);
  try {
    const result = await trainRun(payload as TrainingJob, (event) => {
      ledger.apply(runId, event);
      if (event.type === 'progress') onProgress(event.progress);
    });
    ledger.finish(runId, filesDir);
    return result;
  } catch (error) {
    ledger.fail(runId, error);
    throw error;
  }
}

/** A run's saved weights; throws saying why there are none. `use` completes "only runs that finished training can be ...". */
export function savedWeights(store: Store, runId: number, use: string): Artifact {
  const run = store.runs.get(runId);
  const weights = store.metrics.artifacts(runId).find((a) => a.kind === 'weights');
  if (!weights) throw new ApiError('conflict', `Run ${runId} has no saved weights (status ${run.status}): only runs that finished training can be ${use}.`);
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
  const dataset = await openRunDataset(deps.datasets.source(config.dataset), config);
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
    return await accuracyOf((x) => model.forward(x, false), dataset, testLimit ?? config.testLimit);
  } finally {
    model.dispose();
  }
}
