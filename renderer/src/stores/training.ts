/**
 * Training jobs as the renderer sees them: the queue, each watched run's row, metrics and live
 * progress. Everything comes from the host (runs:get, runs:metrics, jobs:status) and is kept
 * current by its events, so a reload or a second window shows the same state.
 */
import { acceptHMRUpdate, defineStore } from 'pinia';
import { ref } from 'vue';
import type { JobProgress } from '../../../shared/api/progress';
import type { ExportResult, MetricSeries, Run } from '../../../shared/api/schemas';
import type { JobKind } from '../../../shared/ids';
import { studioApi } from '../api/studio';
import { newestWins } from './newest-wins';

export interface NewRunRequest {
  experimentId: number;
  name: string;
  config: Record<string, unknown>;
  /** The job kind (the task): local-learning (classification) unless said. */
  kind?: JobKind;
  /** This machine (default) or the remote queue. */
  target?: 'local' | 'remote';
}

export const useTrainingStore = defineStore('training', () => {
  const concurrency = ref(1);
  const running = ref<number[]>([]);
  const queued = ref<number[]>([]);
  /** Rows of the runs the UI shows (queue, recent, dashboard), by id. */
  const runs = ref<Record<number, Run>>({});
  const recent = ref<number[]>([]);
  const metrics = ref<Record<number, MetricSeries[]>>({});
  const progress = ref<Record<number, JobProgress>>({});
  /** Each answer is applied only if no later request for the same thing was (see newest-wins.ts). */
  const answers = newestWins();
  const setRun = (run: Run, fresh: () => boolean) => {
    if (fresh()) runs.value[run.id] = run;
    return runs.value[run.id] ?? run;
  };

  async function refreshRun(id: number): Promise<Run> {
    const fresh = answers.take(`run ${id}`);
    return setRun(await studioApi.call('runs:get', { id }), fresh);
  }

  async function loadQueue() {
    // Stamped before the call: a reorder sent after this listing and answered first must win.
    const fresh = answers.take('queue');
    const status = await studioApi.call('jobs:status', {});
    if (fresh()) {
      concurrency.value = status.concurrency;
      running.value = status.running;
      queued.value = status.queued;
    }
    const sent = answers.stamp();
    const page = await studioApi.call('runs:list', { limit: 30 });
    if (answers.accept('recent', sent)) recent.value = page.runs.map((r) => r.id);
    // A row listed here may be older than one a runs:get sent meanwhile brought back.
    for (const run of page.runs) setRun(run, () => answers.accept(`run ${run.id}`, sent));
    await Promise.all([...running.value, ...queued.value].filter((id) => !runs.value[id]).map(refreshRun));
  }

  async function loadMetrics(id: number) {
    const fresh = answers.take(`metrics ${id}`);
    const series = await studioApi.call('runs:metrics', { id });
    if (fresh()) metrics.value[id] = series;
  }

  async function start(requests: readonly NewRunRequest[]): Promise<Run[]> {
    const started: Run[] = [];
    for (const request of requests) {
      const run = await studioApi.call('runs:start', { experimentId: request.experimentId, name: request.name, kind: request.kind ?? 'local-learning', config: request.config, ...(request.target ? { target: request.target } : {}) });
      started.push(setRun(run, answers.take(`run ${run.id}`)));
    }
    await loadQueue();
    return started;
  }

  const cancel = async (id: number) => {
    const fresh = answers.take(`run ${id}`);
    setRun(await studioApi.call('runs:cancel', { id }), fresh);
  };
  const resume = async (id: number) => {
    const fresh = answers.take(`run ${id}`);
    setRun(await studioApi.call('runs:resume', { id }), fresh);
    await loadQueue();
  };
  const setConcurrency = async (value: number) => {
    const fresh = answers.take('queue');
    const answer = await studioApi.call('jobs:configure', { concurrency: value });
    if (fresh()) concurrency.value = answer.concurrency;
  };

  /** Move a waiting run one place up (-1) or down (+1). */
  async function move(id: number, by: -1 | 1) {
    const order = [...queued.value];
    const at = order.indexOf(id);
    const to = at + by;
    if (at < 0 || to < 0 || to >= order.length) return;
    [order[at], order[to]] = [order[to]!, order[at]!];
    const fresh = answers.take('queue');
    const answer = await studioApi.call('jobs:reorder', { order });
    if (fresh()) queued.value = answer.queued;
  }

  const exportRun = (id: number, out: string, inputSize?: number): Promise<ExportResult> => studioApi.call('runs:export', { id, out, ...(inputSize ? { inputSize } : {}) });

  function listen() {
    return studioApi.subscribe((event) => {
      if (event.name === 'runs:progress') {
        progress.value[event.payload.runId] = event.payload.progress;
        appendLosses(event.payload.runId, event.payload.progress);
      } else if (event.name === 'runs:changed') {
        const { runId } = event.payload;
        void refreshRun(runId).then((run) => {
          if (run.status !== 'running') delete progress.value[runId];
          if (metrics.value[runId]) void loadMetrics(runId);
        });
        void loadQueue();
      } else if (event.name === 'jobs:changed') void loadQueue();
    });
  }

  /** Step losses arrive with progress; add them to a watched run's curves without a round trip. */
  function appendLosses(runId: number, p: JobProgress) {
    const series = metrics.value[runId];
    if (!series) return;
    const step = (p.epoch - 1) * p.stepsPerEpoch + p.step;
    p.losses.forEach((value, module) => {
      const key = `loss/m${module}`;
      let s = series.find((x) => x.key === key && x.scope === 'step');
      if (!s) series.push((s = { key, scope: 'step', steps: [], values: [] }));
      if (s.steps.at(-1) !== step) {
        s.steps.push(step);
        s.values.push(value);
      }
    });
  }

  return { concurrency, running, queued, runs, recent, metrics, progress, refreshRun, loadQueue, loadMetrics, start, cancel, resume, setConcurrency, move, exportRun, listen };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useTrainingStore, import.meta.hot));
