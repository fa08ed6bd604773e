/**
 * Remote workers end to end, all real: a redis-server on a loopback port, two `blockwise worker`
 * processes, the studio (createStudio on a SQLite file) queuing tiny MNIST runs through its API.
 * Runs spread over both workers with every event in SQLite; a worker killed with SIGKILL leaves
 * its run interrupted (BullMQ's stalled check) and the other worker resumes it to the accuracy an
 * uninterrupted run reaches; a studio closed mid-sweep catches up on reopening without a gap.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../../../shared/api/schemas';
import { QUEUE_NAME } from '../../../main/remote/keys';
import { createStudio, type Studio } from '../../../main/studio';
import { buildCli } from '../../helpers/cli';
import { type RedisServer, startRedis, startWorker, until, type WorkerProcess } from './fixtures';

const TINY = { dataset: 'mnist', depth: 8, method: 'dgl', split: 'k2', epochs: 1, batchSize: 32, trainLimit: 64, testLimit: 100, backend: 'wasm', seed: 3 };

let redis: RedisServer;
let cli: Awaited<ReturnType<typeof buildCli>>;
let root: string;
const workers: WorkerProcess[] = [];
const studios: Studio[] = [];

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-remote-'));
  [redis, cli] = await Promise.all([startRedis(), buildCli(root)]);
}, 60_000);

afterAll(async () => {
  for (const studio of studios.splice(0)) await studio.close().catch(() => undefined);
  for (const worker of workers.splice(0)) {
    worker.child.kill('SIGKILL');
    await worker.exited;
  }
  await redis?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

function worker(name: string): WorkerProcess {
  const started = startWorker(cli, redis.url, name);
  workers.push(started);
  return started;
}

async function openStudio(dbPath: string): Promise<Studio> {
  const studio = createStudio({ host: 'web', dbPath });
  studios.push(studio);
  return studio;
}

async function closeStudio(studio: Studio): Promise<void> {
  studios.splice(studios.indexOf(studio), 1);
  await studio.close();
}

/** A contract call through the studio's dispatcher, as a window makes it; a refusal throws with its message. */
async function call<T>(studio: Studio, name: string, input: object): Promise<T> {
  const reply = await studio.dispatch(name, input);
  if (!reply.ok) throw new Error(`${name}: ${reply.error.message}`);
  return reply.result as T;
}

async function experimentIn(studio: Studio): Promise<number> {
  const project = (await call<unknown>(studio, 'projects:create', { name: `p${Date.now()}` })) as { id: number };
  return ((await call<unknown>(studio, 'experiments:create', { projectId: project.id, name: 'remote' })) as { id: number }).id;
}

const start = (studio: Studio, experimentId: number, name: string, config: object, target: 'local' | 'remote' = 'remote') =>
  call<Run>(studio, 'runs:start', { experimentId, name, config, target });

const runOf = (studio: Studio, id: number) => studio.store.runs.get(id);
const stepPoints = (studio: Studio, id: number) => studio.store.metrics.series(id, 'step');
const testAccuracy = (studio: Studio, id: number) => studio.store.metrics.series(id, 'epoch').find((s) => s.key === 'test_acc')?.values ?? [];

/** Every step 1..steps of every module's loss is in SQLite. */
function expectEveryStep(studio: Studio, id: number, steps: number, modules: number): void {
  const series = stepPoints(studio, id).filter((s) => s.key.startsWith('loss/m'));
  expect(series.map((s) => s.key).sort()).toEqual(Array.from({ length: modules }, (_, m) => `loss/m${m}`));
  for (const s of series) expect(s.steps).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
}

/** Two live workers (started once, replaced when a test killed one). */
let nextWorker = 1;
function twoWorkers(): WorkerProcess[] {
  const alive = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  while (alive.length < 2) alive.push(worker(`w${nextWorker++}`));
  return alive;
}

async function remoteStudio(file: string): Promise<Studio> {
  const studio = await openStudio(path.join(root, file));
  await call(studio, 'remote:configure', { url: redis.url });
  await until('two workers to report', async () => (await call<{ workers: unknown[] }>(studio, 'remote:status', {})).workers.length >= 2, 30_000);
  return studio;
}

describe('remote workers through Redis and BullMQ', () => {
  it('spreads four runs queued from the studio API over two workers, with every event in SQLite', async () => {
    const [w1, w2] = twoWorkers() as [WorkerProcess, WorkerProcess];
    const studio = await openStudio(path.join(root, 'spread.sqlite'));
    const status = (await call<unknown>(studio, 'remote:configure', { url: redis.url })) as { connected: boolean; url: string };
    expect(status.url).toBe(redis.url);
    await until('both workers to report', async () => ((await call<unknown>(studio, 'remote:status', {})) as { workers: unknown[] }).workers.length === 2, 30_000);
    const experimentId = await experimentIn(studio);
    // When each step's loss row reached the studio's subscribers, against when the worker recorded it.
    const latencies: number[] = [];
    studio.jobs.subscribe((update) => {
      if (update.type === 'event' && update.event.type === 'records') for (const point of update.event.metrics ?? []) if (point.scope === 'step') latencies.push(Date.now() - point.at);
    });
    const runs = await Promise.all([1, 2, 3, 4].map((i) => start(studio, experimentId, `remote ${i}`, { ...TINY, seed: i })));
    expect(runs.map((r) => r.status)).toEqual(['queued', 'queued', 'queued', 'queued']);
    // The same job code: the first remote run must reach what the same run reaches on this machine (trained meanwhile).
    const local = await start(studio, experimentId, 'local twin', { ...TINY, seed: 1 }, 'local');
    await until('four remote runs to finish', () => runs.every((r) => ['done', 'failed'].includes(runOf(studio, r.id).status)), 120_000, 200);
    for (const { id } of runs) {
      const run = runOf(studio, id);
      expect(run.status, run.error ?? '').toBe('done');
      expect(run.environment?.backend).toBe('wasm');
      expect(run.environment?.host).toBe(os.hostname());
      expectEveryStep(studio, id, 2, 2);
      expect(testAccuracy(studio, id)).toHaveLength(1);
      expect(studio.store.metrics.memory(id).length).toBeGreaterThan(0);
      // The weights came back through Redis, checked by size and SHA-256, into the run's folder.
      const weights = studio.store.metrics.artifacts(id).filter((a) => a.kind === 'weights');
      expect(weights).toHaveLength(1);
      expect(fs.statSync(path.join(weights[0]!.path, 'weights.bin')).size).toBe(weights[0]!.bytes);
      if (id === runs[0]!.id) console.log(`[remote test] ResNet-8 weights through Redis: ${weights[0]!.bytes} bytes`);
      expect(fs.existsSync(path.join(weights[0]!.path, 'checkpoint.json'))).toBe(false);
    }
    const trainedBy = new Set(runs.map(({ id }) => runOf(studio, id).environment?.worker));
    expect(trainedBy).toEqual(new Set(['w1', 'w2']));
    await studio.jobs.wait(local.id);
    expect(testAccuracy(studio, runs[0]!.id)).toEqual(testAccuracy(studio, local.id));
    latencies.sort((a, b) => a - b);
    console.log(`[remote test] step events worker -> studio SQLite: median ${latencies[latencies.length >> 1]} ms, max ${latencies[latencies.length - 1]} ms over ${latencies.length}`);
    expect(latencies[latencies.length >> 1]).toBeLessThan(2000);
    await closeStudio(studio);
    expect(w1.output() + w2.output()).toContain('finished');
  }, 180_000);
});

describe('remote faults', () => {
  it('a worker killed with SIGKILL mid-run leaves its run interrupted; the other worker resumes it to the uninterrupted accuracy', async () => {
    const pool = twoWorkers();
    const studio = await remoteStudio('kill.sqlite');
    const experimentId = await experimentIn(studio);
    const config = { ...TINY, epochs: 2, trainLimit: 160, seed: 7 };
    const victim = await start(studio, experimentId, 'killed', config);
    const victimWorker = await until('a worker to take the run', () => runOf(studio, victim.id).environment?.worker);
    const reference = await start(studio, experimentId, 'uninterrupted', config);
    // Killed once its first epoch's checkpoint is in the studio's run folder, before the run ends.
    const checkpoint = path.join(root, 'runs', String(victim.id), 'checkpoint.json');
    await until('the first checkpoint to arrive', () => fs.existsSync(checkpoint) || runOf(studio, victim.id).status === 'done', 60_000, 20);
    expect(runOf(studio, victim.id).status).toBe('running');
    const killed = pool.find((w) => w.name === victimWorker)!;
    killed.child.kill('SIGKILL');
    const killedAt = Date.now();
    await killed.exited;
    const interrupted = await until('the run to be marked interrupted', () => runOf(studio, victim.id).status === 'interrupted' && runOf(studio, victim.id), 30_000, 50);
    const detectMs = Date.now() - killedAt;
    console.log(`[remote test] SIGKILL of ${victimWorker} -> run interrupted in ${detectMs} ms (lock 3000 ms)`);
    expect(interrupted.error).toMatch(/stopped answering/);
    expect(detectMs).toBeLessThan(15_000);
    await until('the reference run to finish', () => runOf(studio, reference.id).status === 'done', 90_000, 100);

    const resumed = await call<Run>(studio, 'runs:resume', { id: victim.id });
    expect(resumed.status).toBe('queued');
    await until('the resumed run to end', () => !['queued', 'running'].includes(runOf(studio, victim.id).status), 90_000, 100);
    const done = runOf(studio, victim.id);
    expect(done.status, done.error ?? '').toBe('done');
    expect(done.environment?.worker).not.toBe(victimWorker);
    expect(testAccuracy(studio, victim.id)).toHaveLength(2);
    expect(testAccuracy(studio, victim.id)).toEqual(testAccuracy(studio, reference.id));
    // Every step's losses, the ones written before the kill and after the resume, as the uninterrupted run's.
    expect(stepPoints(studio, victim.id)).toEqual(stepPoints(studio, reference.id));
    await closeStudio(studio);
  }, 180_000);

  it('cancels a remote run while it trains (the worker stops after its step) and one still waiting', async () => {
    twoWorkers();
    const studio = await remoteStudio('cancel.sqlite');
    const experimentId = await experimentIn(studio);
    const long = { ...TINY, epochs: 5, trainLimit: 640 };
    const training = await start(studio, experimentId, 'long', long);
    await until('the run to train', () => stepPoints(studio, training.id).length > 0, 60_000, 20);
    const asked = Date.now();
    expect((await call<Run>(studio, 'runs:cancel', { id: training.id })).status).toBe('running');
    const cancelled = await until('the worker to stop it', () => runOf(studio, training.id).status !== 'running' && runOf(studio, training.id), 30_000, 20);
    console.log(`[remote test] remote cancel took ${Date.now() - asked} ms`);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.error).toBeNull();
    // A run no worker took yet is cancelled at once and never trains.
    const waiting = await start(studio, experimentId, 'waiting', { ...long, dataset: 'mnist' });
    expect((await call<Run>(studio, 'runs:cancel', { id: waiting.id })).status).toBe('cancelled');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(runOf(studio, waiting.id).status).toBe('cancelled');
    expect(stepPoints(studio, waiting.id)).toEqual([]);
    await closeStudio(studio);
  }, 90_000);

  it('a studio closed mid-sweep catches up on every event when it opens again', async () => {
    twoWorkers();
    const dbPath = 'reopen.sqlite';
    let studio = await remoteStudio(dbPath);
    const experimentId = await experimentIn(studio);
    const config = { ...TINY, epochs: 2, trainLimit: 64 };
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE_NAME, { connection });
    const completedBefore = (await queue.getJobCounts('completed')).completed!;
    const runs = await Promise.all([1, 2, 3].map((seed) => start(studio, experimentId, `sweep seed ${seed}`, { ...config, seed })));
    await until('the sweep to start training', () => stepPoints(studio, runs[0]!.id).length > 0, 60_000, 20);
    expect(runs.filter((r) => runOf(studio, r.id).status !== 'done').length).toBe(3);
    await closeStudio(studio);
    try {
      await until('the workers to finish the sweep without the studio', async () => {
        const counts = await queue.getJobCounts('waiting', 'active', 'completed');
        return counts.waiting === 0 && counts.active === 0 && counts.completed === completedBefore + 3;
      }, 90_000, 200);
    } finally {
      await queue.close();
      connection.disconnect();
    }
    const reopenedAt = Date.now();
    studio = await openStudio(path.join(root, dbPath));
    await until('the reopened studio to catch up', () => runs.every((r) => runOf(studio, r.id).status === 'done'), 30_000, 20);
    console.log(`[remote test] reopened studio caught up with three finished runs in ${Date.now() - reopenedAt} ms`);
    for (const { id } of runs) {
      expectEveryStep(studio, id, 4, 2);
      expect(testAccuracy(studio, id)).toHaveLength(2);
      expect(studio.store.metrics.artifacts(id).filter((a) => a.kind === 'weights')).toHaveLength(1);
    }
    await closeStudio(studio);
  }, 180_000);

  it('with no other worker alive, the studio itself finds the killed worker and interrupts its run', async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    const solo = worker('solo');
    const studio = await openStudio(path.join(root, 'solo.sqlite'));
    await call(studio, 'remote:configure', { url: redis.url });
    const experimentId = await experimentIn(studio);
    const run = await start(studio, experimentId, 'alone', { ...TINY, epochs: 5, trainLimit: 320 });
    await until('the worker to train it', () => stepPoints(studio, run.id).length > 0, 60_000, 20);
    solo.child.kill('SIGKILL');
    const killedAt = Date.now();
    await solo.exited;
    await until('the run to be marked interrupted', () => runOf(studio, run.id).status === 'interrupted', 30_000, 50);
    console.log(`[remote test] no worker left: SIGKILL -> interrupted in ${Date.now() - killedAt} ms (studio's own stalled check)`);
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    await closeStudio(studio);
  }, 90_000);
});
