/** The handlers of every contract operation, written once against the services and shared by both hosts. */
import type { StudioEvent } from '../../shared/api/contract';
import type { AppInfo, MetricSeries } from '../../shared/api/schemas';
import { ApiError } from '../../shared/api/errors';
import type { DatasetCatalog } from '../data/catalog';
import fs from 'node:fs';
import { exportRun } from '../engine/export/tfjs-export';
import type { SplitProbeRequest, SplitProbeResult } from '../engine/memory/probe-split';
import type { RunEvaluation, RunEvaluationRequest } from '../engine/train/evaluate-run';
import { savedWeights } from '../engine/train/run-training';
import { runDetails } from './run-details';
import { createSpeakEditorHandlers } from './speak-editor';
import { exportDetRun, exportSrRun, runPreview, taskProbeRequest } from './task-runs';
import type { TaskProbeResult } from '../jobs/task-memory-probe';
import { startWorkerTask } from '../jobs/worker-task';
import { trainConfig } from '../../shared/engine/config';
import { type Cut, SplitError, validateCuts } from '../../shared/engine/splits';
import { parseOrBadRequest } from './dispatch';
import { runDir, savedConfig } from '../engine/train/run-config';
import type { JobManager } from '../jobs/job-manager';
import type { RemoteService } from '../remote/remote-service';
import { THIS_PROCESS } from '../platform/process-owner';
import type { Store } from '../store';
import type { Handlers } from './dispatch';

export interface HandlerContext {
  store: Store;
  /** Host facts fixed at start-up. */
  info: () => AppInfo;
  datasets: DatasetCatalog;
  jobs: JobManager;
  remote: RemoteService;
  /** Push an event to every connected renderer. */
  emit: (event: StudioEvent) => void;
  /** The host's native folder picker, where it has one (Electron). */
  pickFolder?: ((title: string) => Promise<string | null>) | undefined;
}

export function createHandlers({ store, info, datasets, jobs, remote, emit, pickFolder }: HandlerContext): Handlers {
  const runChanged = (runId: number, experimentId: number) => emit({ name: 'runs:changed', payload: { runId, experimentId } });
  return {
    ...createSpeakEditorHandlers({ store, jobs }),
    'app:info': () => info(),
    'projects:list': () => store.projects.list(),
    'projects:create': (args) => {
      const project = store.projects.create(args);
      emit({ name: 'projects:changed', payload: { projectId: project.id } });
      return project;
    },
    'experiments:list': ({ projectId }) => store.projects.listExperiments(projectId),
    'experiments:create': (args) => {
      const experiment = store.projects.createExperiment(args);
      emit({ name: 'experiments:changed', payload: { projectId: experiment.projectId, experimentId: experiment.id } });
      return experiment;
    },
    'runs:list': (query) => store.runs.list(query),
    'runs:get': ({ id }) => store.runs.get(id),
    'runs:metrics': ({ id, scope }) => {
      store.runs.get(id);
      return store.metrics.series(id, scope);
    },
    'runs:memory': ({ id }) => {
      store.runs.get(id);
      return store.metrics.memory(id);
    },
    'runs:details': ({ id }) => runDetails(store, id),
    'runs:evaluate': async ({ id, samples }) => {
      const kind = store.runs.get(id).kind;
      if (kind !== 'local-learning') throw new ApiError('bad_request', `Run ${id} is a ${kind} run: it is scored at every epoch of its training (its page shows the scores${kind === 'super-resolution' ? ' and the preview' : ''}); this evaluation is for classifiers.`);
      const weights = savedWeights(store, id, 'evaluated');
      const { config } = savedConfig(store.runs.get(id).config);
      const request: RunEvaluationRequest = { config, dataset: datasets.source(config.dataset), weightsPath: weights.path, samples };
      return (await startWorkerTask('run-evaluate', request).result) as RunEvaluation;
    },
    'runs:update': ({ id, ...patch }) => {
      const run = store.runs.update(id, patch);
      runChanged(run.id, run.experimentId);
      return run;
    },
    'runs:tag': ({ id, add, remove }) => {
      const run = store.runs.tag(id, add, remove);
      runChanged(run.id, run.experimentId);
      return run;
    },
    // The job manager announces every status change itself (see createStudio).
    'runs:start': ({ target, ...job }) => jobs.submit(job, target),
    'runs:cancel': ({ id }) => jobs.cancel(id),
    'runs:resume': ({ id, target }) => jobs.resume(id, target),
    'remote:status': () => remote.status(),
    'remote:test': ({ url }) => remote.test(url),
    'remote:configure': ({ url }) => remote.configure(url),
    'runs:delete': ({ ids }) => {
      const experiments = ids.map((id) => store.runs.get(id).experimentId);
      jobs.releaseDeadOwners(); // a run whose process died is not running any more: it can go
      store.runs.remove(ids);
      // Their files (checkpoint, weights) go too; exports the user made elsewhere stay.
      if (store.path !== ':memory:') for (const id of ids) fs.rmSync(runDir(store.path, id), { recursive: true, force: true });
      ids.forEach((id, i) => runChanged(id, experiments[i]!));
      return { deleted: ids.length };
    },
    'runs:relaunch': ({ id, name }) => {
      const run = store.runs.get(id);
      // A local-learning run's record holds its resolved cuts; other kinds keep their settings as given.
      let config: Record<string, unknown> = run.config;
      if (run.kind === 'local-learning') {
        const saved = savedConfig(run.config);
        config = { ...saved.config, split: saved.cuts };
      }
      return jobs.submit({ experimentId: run.experimentId, name: name ?? `${run.name} (again)`.slice(0, 120), kind: run.kind, config });
    },
    'runs:compare': ({ ids }) =>
      ids.map((id) => {
        const run = store.runs.get(id);
        const epochs = store.metrics.series(id, 'epoch');
        const losses = store.metrics.series(id, 'step', true).filter((s) => s.key.startsWith('loss/'));
        const last = losses.sort((a, b) => a.key.localeCompare(b.key, undefined, { numeric: true })).at(-1) ?? null;
        return { run, epochs, loss: last && thin(last, 400), memory: store.metrics.memory(id) };
      }),
    'runs:preview': ({ id }) => runPreview(store, id),
    'splits:measureTask': async ({ kind, config }) => (await startWorkerTask('task-memory-probe', taskProbeRequest(kind, config)).result) as TaskProbeResult,
    'runs:export': async ({ id, out, inputSize }) => {
      if (store.runs.get(id).kind === 'super-resolution') {
        const exported = await exportSrRun({ store, datasets }, id, out, inputSize);
        runChanged(id, store.runs.get(id).experimentId);
        return exported;
      }
      if (inputSize !== undefined) throw new ApiError('bad_request', 'inputSize applies to super-resolution models only; a classifier or detector takes the image size it was trained on. Nothing was changed.');
      if (store.runs.get(id).kind === 'detection') {
        const exported = await exportDetRun({ store }, id, out);
        runChanged(id, store.runs.get(id).experimentId);
        return exported;
      }
      const result = await exportRun({ store, datasets }, id, out);
      emit({ name: 'runs:changed', payload: { runId: id, experimentId: store.runs.get(id).experimentId } });
      return { dir: result.dir, files: result.files, dropped: result.card.dropped, testAccuracy: result.card.testAccuracy };
    },
    'jobs:status': () => ({ concurrency: jobs.concurrency, running: jobs.runningIds(), queued: store.runs.queuedBy(THIS_PROCESS) }),
    'jobs:reorder': ({ order }) => {
      store.runs.reorderQueue(THIS_PROCESS, order);
      emit({ name: 'jobs:changed', payload: {} });
      return { queued: store.runs.queuedBy(THIS_PROCESS) };
    },
    'jobs:configure': ({ concurrency }) => {
      jobs.setConcurrency(concurrency);
      emit({ name: 'jobs:changed', payload: {} });
      return { concurrency: jobs.concurrency };
    },

    'splits:list': () => store.splits.list(),
    'splits:save': (split) => store.splits.save(split),
    'splits:measure': async ({ cuts, dataset, ...settings }) => {
      const config = parseOrBadRequest(trainConfig, { ...settings, dataset }, 'split to measure');
      const request: SplitProbeRequest = {
        depth: config.depth,
        method: config.method,
        execution: config.execution,
        batchSize: config.batchSize,
        cuts: config.method === 'e2e' ? [] : checkedCuts(config.depth, cuts),
        dataset: datasets.source(dataset),
      };
      return (await startWorkerTask('memory-probe', request).result) as SplitProbeResult;
    },
    'splits:remove': ({ id }) => {
      store.splits.remove(id);
      return { removed: true as const };
    },

    'datasets:list': () => datasets.list(),
    'datasets:inspect': (request) => datasets.inspect(request),
    'datasets:import': async (request) => {
      const { importId } = request;
      const progress = importId ? (done: number, total: number) => emit({ name: 'datasets:importProgress', payload: { importId, done, total } }) : undefined;
      const dataset = await datasets.import(request, progress);
      emit({ name: 'datasets:changed', payload: { id: dataset.id } });
      return dataset;
    },
    'datasets:cancelImport': ({ importId }) => ({ cancelled: datasets.cancelImport(importId) }),
    'datasets:remove': ({ id }) => {
      datasets.remove(id);
      emit({ name: 'datasets:changed', payload: { id } });
      return { removed: true as const };
    },
    'datasets:samples': ({ id, split, perClass }) => datasets.samples(id, split, perClass),

    'dialog:pickFolder': async ({ title }) => {
      if (!pickFolder) throw new ApiError('bad_request', 'This host has no native folder dialog: type or paste the folder\'s full path instead.');
      return { path: await pickFolder(title ?? 'Choose a folder') };
    },
  };
}

/** At most `points` evenly spaced points of a series, the last always kept. */
function thin(series: MetricSeries, points: number): MetricSeries {
  const every = Math.ceil(series.steps.length / points);
  if (every <= 1) return series;
  const keep = (_: number, i: number) => i % every === 0 || i === series.steps.length - 1;
  return { ...series, steps: series.steps.filter(keep), values: series.values.filter(keep), ...(series.times ? { times: series.times.filter(keep) } : {}) };
}

/** A cut list checked against the net; a bad one is the caller's to fix. */
function checkedCuts(depth: number, cuts: readonly (readonly number[])[]): Cut[] {
  try {
    return validateCuts(depth, cuts);
  } catch (error) {
    if (error instanceof SplitError) throw new ApiError('bad_request', `${error.message} Nothing was measured.`);
    throw error;
  }
}
