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
import { buildWorkerCli, type RedisServer, startRedis, startWorker, until, type WorkerProcess } from './fixtures';

const TINY = { dataset: 'mnist', depth: 8, method: 'dgl', split: 'k2', epochs: 1, batchSize: 32, trainLimit: 64, testLimit: 100, backend: 'wasm', seed: 3 };

let redis: RedisServer;
let cli: Awaited<ReturnType<typeof buildWorkerCli>>;
let root: string;
const workers: WorkerProcess[] = [];
const studios: Studio[] = [];

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-remote-'));
  [redis, cli] = await Promise.all([startRedis(), buildWorkerCli(root)]);
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

describe('remote workers through Redis and BullMQ', () => {
  it('spreads four runs queued from the studio API over two workers, with every event in SQLite', async () => {
    const [w1, w2] = [worker('w1'), worker('w2')];
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
      expect(fs.existsSync(path.join(weights[0]!.path, 'checkpoint.json'))).toBe(false);
    }
    const trainedBy = new Set(runs.map(({ id }) => runOf(studio, id).environment?.worker));
    expect(trainedBy).toEqual(new Set(['w1', 'w2']));
    // The same job code: a remote run reaches what the same run reaches on this machine.
    const local = await start(studio, experimentId, 'local twin', { ...TINY, seed: 1 }, 'local');
    await studio.jobs.wait(local.id);
    expect(testAccuracy(studio, runs[0]!.id)).toEqual(testAccuracy(studio, local.id));
    latencies.sort((a, b) => a - b);
    console.log(`[remote test] step events worker -> studio SQLite: median ${latencies[latencies.length >> 1]} ms, max ${latencies[latencies.length - 1]} ms over ${latencies.length}`);
    expect(latencies[latencies.length >> 1]).toBeLessThan(2000);
    await closeStudio(studio);
    expect(w1.output() + w2.output()).toContain('finished');
  }, 180_000);
});
