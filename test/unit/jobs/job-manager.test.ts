/**
 * The job queue with real worker threads training real MNIST digits into a real SQLite file:
 * order and concurrency, events fanned out and committed, bad settings refused with nothing
 * created, a worker that throws failing only its run, cancel and resume, close.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DatasetCatalog } from '../../../main/data/catalog';
import { runDir } from '../../../main/engine/train/run-config';
import type { TrainingResult } from '../../../main/engine/train/train-run';
import { JobManager, type JobUpdate } from '../../../main/jobs/job-manager';
import { Store } from '../../../main/store';
import { cifar10Batch, patternSamples } from '../../helpers/dataset-files';
import { useTempDir } from '../../helpers/temp';

const TINY = { method: 'dgl', split: 'per-block', epochs: 1, batchSize: 32, trainLimit: 64, testLimit: 64, backend: 'wasm' };

const managers: JobManager[] = [];
const stores: Store[] = [];

function setUp(dir: string, concurrency = 1) {
  const store = Store.open(path.join(dir, 'studio.sqlite'));
  const project = store.projects.create({ name: 'p' });
  const experimentId = store.projects.createExperiment({ projectId: project.id, name: 'e', kind: 'local-learning' }).id;
  const datasets = new DatasetCatalog(store);
  const jobs = new JobManager({ store, datasets, concurrency, cancelGraceMs: 60_000 });
  const updates: JobUpdate[] = [];
  jobs.subscribe((update) => updates.push(update));
  managers.push(jobs);
  stores.push(store);
  const submit = (name: string, config: object = TINY) => jobs.submit({ experimentId, name, kind: 'local-learning', config }).id;
  return { store, jobs, datasets, updates, submit, experimentId };
}

const testAccuracies = (store: Store, runId: number) => store.metrics.series(runId, 'epoch').find((s) => s.key === 'test_acc')?.values ?? [];

afterEach(async () => {
  for (const jobs of managers.splice(0)) await jobs.close();
  for (const store of stores.splice(0)) store.close();
});

describe('job manager', () => {
  const tmp = useTempDir();

  it('trains queued runs in workers one at a time, committing and fanning out their events', async () => {
    const { store, jobs, updates, submit } = setUp(tmp());
    const first = submit('first');
    const second = submit('second');
    expect(jobs.runningIds()).toEqual([first]);
    expect(store.runs.get(second).status).toBe('queued');
    const [a, b] = await Promise.all([jobs.wait(first), jobs.wait(second)]);
    expect([a.run.status, b.run.status]).toEqual(['done', 'done']);
    expect((a.result as TrainingResult).testAccuracy).toBeGreaterThan(0);
    // One at a time: the second started after the first ended.
    expect(b.run.startedAt!).toBeGreaterThanOrEqual(a.run.endedAt!);
    for (const runId of [first, second]) {
      const run = store.runs.get(runId);
      expect(run.environment?.backend).toBe('wasm');
      // ResNet-8 one module per block with DGL: three modules, two steps of 32 images.
      const losses = store.metrics.series(runId, 'step').filter((s) => s.key.startsWith('loss/m'));
      expect(losses.map((s) => s.key)).toEqual(['loss/m0', 'loss/m1', 'loss/m2']);
      expect(losses.every((s) => s.steps.join() === '1,2' && s.values.every(Number.isFinite))).toBe(true);
      expect(testAccuracies(store, runId)).toEqual([((runId === first ? a : b).result as TrainingResult).testAccuracy]);
      const epoch = store.metrics.series(runId, 'epoch');
      expect(epoch.map((s) => s.key)).toEqual(['images_per_second', 'test_acc', 'train_acc']);
      expect(epoch.every((s) => s.steps.join() === '1' && s.values[0]! > 0)).toBe(true);
      expect(store.metrics.memory(runId).length).toBe(4); // the step, then each module
      expect(store.metrics.artifacts(runId).map((x) => x.kind)).toEqual(['weights']);
      // The checkpoint goes once the run is done; the weights stay.
      expect(fs.existsSync(path.join(runDir(store.path, runId), 'checkpoint.json'))).toBe(false);
      expect(fs.existsSync(path.join(runDir(store.path, runId), 'weights.bin'))).toBe(true);
      const progress = updates.filter((u) => u.runId === runId && u.type === 'event' && u.event.type === 'progress');
      expect(progress.map((u) => (u.type === 'event' && u.event.type === 'progress' ? u.event.progress.step : -1))).toEqual([1, 2]);
      const statuses = updates.filter((u) => u.runId === runId && u.type === 'run').map((u) => (u.type === 'run' ? u.run.status : ''));
      expect(statuses[0]).toBe('queued');
      expect(statuses).toContain('running');
      expect(statuses.at(-1)).toBe('done');
    }
  }, 180_000);

  it('trains two runs at once with concurrency 2', async () => {
    const { jobs, submit } = setUp(tmp(), 2);
    const [a, b] = [submit('a'), submit('b')];
    expect(jobs.runningIds()).toEqual([a, b]);
    const [first, second] = await Promise.all([jobs.wait(a), jobs.wait(b)]);
    expect([first.run.status, second.run.status]).toEqual(['done', 'done']);
    // They overlapped: each started before the other ended.
    expect(second.run.startedAt!).toBeLessThan(first.run.endedAt!);
    expect(first.run.startedAt!).toBeLessThan(second.run.endedAt!);
  }, 180_000);

  it('trains a run module-parallel (stage workers inside the job worker) to the sequential run\'s weights', async () => {
    const { store, jobs, submit } = setUp(tmp());
    const config = { ...TINY, method: 'infopro', epochs: 2, trainLimit: 96 };
    // One thread: by default a run trains data-parallel on every core, which normalises per shard.
    const sequential = submit('sequential', { ...config, workers: 1 });
    const parallel = submit('two stages', { ...config, stages: 2 });
    const [a, b] = [await jobs.wait(sequential), await jobs.wait(parallel)];
    expect([a.run.status, b.run.status, b.run.error]).toEqual(['done', 'done', null]);
    expect(testAccuracies(store, parallel)).toEqual(testAccuracies(store, sequential));
    const floats = (runId: number) => new Float32Array(new Uint8Array(fs.readFileSync(path.join(runDir(store.path, runId), 'weights.bin'))).buffer);
    const [x, y] = [floats(sequential), floats(parallel)];
    expect(y.length).toBe(x.length);
    expect(Math.max(...x.map((v, i) => Math.abs(v - y[i]!)))).toBeLessThanOrEqual(1e-5);
    // Same losses step by step, module by module.
    const losses = (runId: number) => store.metrics.series(runId, 'step').map((s) => s.values);
    losses(parallel).forEach((values, m) => values.forEach((v, i) => expect(Math.abs(v - losses(sequential)[m]![i]!)).toBeLessThanOrEqual(1e-5)));
  }, 240_000);

  it('refuses bad settings, saying what to fix, and creates nothing', () => {
    const { store, submit } = setUp(tmp());
    expect(() => submit('bad', { ...TINY, epochs: 0 })).toThrow('Invalid training settings: epochs:');
    expect(() => submit('bad', { ...TINY, split: 'k99' })).toThrow('Invalid split: Split "k99" is not a preset of ResNet-8');
    expect(() => submit('bad', { ...TINY, dataset: 'ds-77' })).toThrow('Choose a data set from the Data sets workspace. Nothing was changed.');
    expect(() => submit('bad', { ...TINY, method: 'infopro+hpff', stages: 2 })).toThrow("Module-parallel training is not available for infopro+hpff: HPFF's modules are coupled");
    expect(() => submit('bad', { ...TINY, stages: 4 })).toThrow('This split has 3 modules, so at most 3 stages can train in parallel (got 4).');
    expect(store.runs.list({ limit: 10, offset: 0 }).total).toBe(0);
  });

  it('fails only the run whose worker throws, with its error, and goes on with the queue', async () => {
    const dir = tmp();
    const { store, jobs, datasets, submit } = setUp(dir);
    // A real data set that disappears after it was registered: opening it throws inside the worker.
    const folder = path.join(dir, 'cifar');
    fs.mkdirSync(folder);
    for (const file of ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin']) {
      fs.writeFileSync(path.join(folder, file), cifar10Batch(patternSamples(4, 32, 32)));
    }
    const cifar = await datasets.import({ path: folder, name: 'gone soon' });
    const doomed = submit('doomed', { ...TINY, dataset: cifar.id });
    const next = submit('next');
    fs.rmSync(path.join(folder, 'test_batch.bin'));
    const failed = await jobs.wait(doomed);
    expect(failed.run.status).toBe('failed');
    expect(failed.run.error).toContain('Data set "gone soon" cannot be opened');
    expect((await jobs.wait(next)).run.status).toBe('done');
    expect(store.runs.get(doomed).status).toBe('failed');
  }, 180_000);

  it('cancels a running run after its first epoch and resumes it to the uninterrupted accuracy; cancels a queued run at once', async () => {
    const { store, jobs, submit } = setUp(tmp());
    // Five steps an epoch: the cancel (sent on epoch 2's first step) lands while steps remain.
    const config = { ...TINY, epochs: 2, trainLimit: 160 };
    const whole = submit('whole', config);
    await jobs.wait(whole);
    const stopped = submit('stopped', config);
    const queued = submit('never starts', config);
    expect(jobs.cancel(queued).status).toBe('cancelled');
    const cancelled = new Promise<void>((resolve) => {
      const stop = jobs.subscribe((u) => {
        if (u.runId === stopped && u.type === 'event' && u.event.type === 'progress' && u.event.progress.epoch === 2) {
          jobs.cancel(stopped);
          stop(); // once: the resumed run goes through epoch 2 again
          resolve();
        }
      });
    });
    await cancelled;
    const outcome = await jobs.wait(stopped);
    expect(outcome.run.status).toBe('cancelled');
    expect(testAccuracies(store, stopped)).toHaveLength(1);
    expect(() => jobs.cancel(stopped)).toThrow(`Run ${stopped} is cancelled: only a queued, running or interrupted run can be cancelled, so there is nothing to cancel.`);

    expect(jobs.resume(stopped).status).toBe('queued');
    const resumed = await jobs.wait(stopped);
    expect(resumed.run.status).toBe('done');
    expect(testAccuracies(store, stopped)).toEqual(testAccuracies(store, whole));
    expect(fs.readFileSync(path.join(runDir(store.path, stopped), 'weights.bin')).equals(fs.readFileSync(path.join(runDir(store.path, whole), 'weights.bin')))).toBe(true);
    expect(store.runs.get(queued).status).toBe('cancelled');
    expect(() => jobs.resume(whole)).toThrow(`Run ${whole} finished training; there is nothing to resume.`);
  }, 240_000);

  it('leaves a run interrupted when the manager closes mid-run, and a new manager picks up what was queued', async () => {
    const dir = tmp();
    const { store, jobs, submit, updates } = setUp(dir);
    const running = submit('running', { ...TINY, epochs: 3 });
    const waiting = submit('waiting');
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (updates.some((u) => u.type === 'event' && u.event.type === 'progress')) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    await jobs.close();
    expect(store.runs.get(running)).toMatchObject({ status: 'interrupted', error: expect.stringContaining('resume it') });
    expect(store.runs.get(waiting).status).toBe('queued');
    const again = new JobManager({ store, datasets: new DatasetCatalog(store) });
    managers.push(again);
    expect((await again.wait(waiting)).run.status).toBe('done');
  }, 180_000);
});
