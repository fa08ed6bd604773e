/**
 * A job worker that dies (not throws): its thread is ended by V8 when it runs out of the heap
 * the studio's documented limit gives it (BLOCKWISE_JOB_HEAP_MIB / workerHeapMiB). Only its
 * run fails, saying why and what to do; the process lives on and the next queued run trains.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DatasetCatalog } from '../../../main/data/catalog';
import type { TrainingResult } from '../../../main/engine/train/train-run';
import { JobManager, type JobUpdate } from '../../../main/jobs/job-manager';
import { Store } from '../../../main/store';
import { useTempDir } from '../../helpers/temp';

const TINY = { method: 'dgl', split: 'per-block', epochs: 1, batchSize: 32, trainLimit: 64, testLimit: 64, backend: 'wasm' };

const managers: JobManager[] = [];
const stores: Store[] = [];

afterEach(async () => {
  for (const jobs of managers.splice(0)) await jobs.close();
  for (const store of stores.splice(0)) store.close();
});

describe('a job worker that dies', () => {
  const tmp = useTempDir();

  it('fails only its run, with the reason, and the next queued run trains', async () => {
    const store = Store.open(path.join(tmp(), 'studio.sqlite'));
    stores.push(store);
    const project = store.projects.create({ name: 'p' });
    const experimentId = store.projects.createExperiment({ projectId: project.id, name: 'e', kind: 'local-learning' }).id;
    // 4 MiB of heap cannot even load TF.js: V8 ends the worker thread (ERR_WORKER_OUT_OF_MEMORY), no JS error is thrown in it.
    const jobs = new JobManager({ store, datasets: new DatasetCatalog(store), workerHeapMiB: 4 });
    managers.push(jobs);
    const updates: JobUpdate[] = [];
    jobs.subscribe((update) => updates.push(update));
    const submit = (name: string) => jobs.submit({ experimentId, name, kind: 'local-learning', config: TINY }).id;
    const doomed = submit('doomed'); // its worker starts now, with the 4 MiB cap
    jobs.setWorkerHeapMiB(undefined); // the runs that start later get Node's own limit
    const next = submit('next');
    expect(jobs.runningIds()).toEqual([doomed]);

    const failed = await jobs.wait(doomed);
    expect(failed.run.status).toBe('failed');
    expect(failed.run.error).toBe('The worker training this run ran out of memory: it needed more than its 4 MiB JavaScript heap limit (BLOCKWISE_JOB_HEAP_MIB). Train on fewer or smaller images, or raise the limit, then resume or launch it again.');
    const trained = await jobs.wait(next);
    expect(trained.run.status).toBe('done');
    expect((trained.result as TrainingResult).testAccuracy).toBeGreaterThan(0);
    // The failure was announced, then the next run started after it.
    const statuses = updates.flatMap((u) => (u.type === 'run' ? [`${u.runId}:${u.run.status}`] : []));
    expect(statuses.indexOf(`${doomed}:failed`)).toBeGreaterThan(-1);
    expect(statuses.indexOf(`${next}:running`)).toBeGreaterThan(statuses.indexOf(`${doomed}:failed`));
    expect(store.runs.get(doomed).status).toBe('failed');
  }, 180_000);

  it('refuses a heap limit that is not a whole number of MiB, changing nothing', () => {
    const store = Store.open(':memory:');
    stores.push(store);
    const jobs = new JobManager({ store, datasets: new DatasetCatalog(store), workerHeapMiB: 512 });
    managers.push(jobs);
    expect(() => jobs.setWorkerHeapMiB(0.5)).toThrow("A job worker's heap limit must be a whole number of MiB (1 or more), got 0.5.");
    expect(jobs.workerHeapMiB).toBe(512);
  });
});
