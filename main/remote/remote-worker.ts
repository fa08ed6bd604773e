/**
 * A remote worker: takes runs from the BullMQ queue and trains each with the studio's own job
 * code (a job worker thread per run, ../jobs/worker-task.ts), appending every event the job
 * sends to the studio's Redis stream, shipping each end-of-epoch checkpoint and the final
 * weights through Redis (./artifacts.ts), and stopping a run when its studio asks.
 *
 * Liveness is BullMQ's: the worker holds a lock on each job it trains and renews it every
 * lockDuration / 2; a worker that dies (kill -9, lost network) stops renewing, and the stalled
 * check of any other worker finds the job without its lock within about twice the lock duration
 * and fails it ("stalled"), which the studio turns into `interrupted`. The studio runs the
 * same check itself, so this holds with no other worker alive.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BackendId } from '../../shared/ids';
import type { JobEvent } from '../jobs/events';
import { startWorkerTask } from '../jobs/worker-task';
import { detectBackends, preferredBackend } from '../platform/backends';
import { openRedis } from './connection';
import { appendEntry, type StreamEntry, type WorkerIdentity } from './event-stream';
import { fileManifest, getFiles, putFiles, readFileSet } from './artifacts';
import { cancelKey, eventStreamKey, QUEUE_NAME, runFilesKey } from './keys';
import { trainingJobFrom } from './remote-job';
import { beat, HEARTBEAT_MS, leave } from './worker-registry';

export interface RemoteWorkerOptions {
  url: string;
  name?: string | undefined;
  concurrency?: number | undefined;
  /** Train every run on this backend instead of the run's own choice. */
  backend?: BackendId | undefined;
  /** BullMQ lock duration (ms): how long a dead worker's run can go unnoticed, about; default 10 s. */
  stallMs?: number | undefined;
  log?: (line: string) => void;
}

const CHECKPOINT_FILES = ['checkpoint.json', 'checkpoint.bin'];
const WEIGHTS_FILES = ['weights.json', 'weights.bin'];
const CANCEL_POLL_MS = 500;

export class RemoteWorker {
  readonly identity: WorkerIdentity;
  private readonly running = new Map<string, number>();
  private heartbeat?: ReturnType<typeof setInterval>;

  private constructor(
    private readonly redis: Redis,
    private readonly worker: Worker,
    identity: WorkerIdentity,
    private readonly concurrency: number,
  ) {
    this.identity = identity;
  }

  static async start(options: RemoteWorkerOptions): Promise<RemoteWorker> {
    const concurrency = options.concurrency ?? 1;
    const stallMs = options.stallMs ?? 10_000;
    const backend = options.backend ?? preferredBackend(detectBackends()) ?? 'cpu';
    const identity: WorkerIdentity = { name: options.name ?? `${os.hostname()}-${process.pid}`, host: os.hostname(), pid: process.pid, backend, gpu: gpuName() };
    const log = options.log ?? ((line: string) => console.error(line));
    const redis = openRedis(options.url, { name: `blockwise-worker-${identity.name}` });
    let self: RemoteWorker | undefined;
    const worker = new Worker(QUEUE_NAME, async (job: Job) => self!.train(job, options.backend, log), {
      connection: openRedis(options.url, { name: `blockwise-worker-${identity.name}-bullmq` }),
      concurrency,
      lockDuration: stallMs,
      // BullMQ skips a check that comes before the last one's marker expires, so checks land up to two intervals apart:
      // a quarter of the lock keeps a dead worker's run found within about twice the lock duration.
      stalledInterval: Math.max(250, Math.round(stallMs / 4)),
      // A stalled run is not retried behind the studio's back: it becomes interrupted, and resuming it is the user's call.
      maxStalledCount: 0,
      autorun: false,
    });
    worker.on('error', (error) => log(`[worker] ${error.message}`));
    self = new RemoteWorker(redis, worker, identity, concurrency);
    await self.beat();
    self.heartbeat = setInterval(() => void self!.beat().catch((error: Error) => log(`[worker] heartbeat failed: ${error.message}`)), HEARTBEAT_MS);
    void worker.run();
    await worker.waitUntilReady();
    log(`[worker] ${identity.name} on ${identity.host} (${backend}${identity.gpu ? `, ${identity.gpu}` : ''}) takes runs from ${QUEUE_NAME}, ${concurrency} at a time`);
    return self;
  }

  private beat(): Promise<void> {
    return beat(this.redis, { ...this.identity, concurrency: this.concurrency, running: [...this.running.keys()] });
  }

  /** Stop taking runs, let the running ones end (their studio sees them end), leave the workers list. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.worker.close();
    await leave(this.redis, this.identity.name).catch(() => undefined);
    this.redis.disconnect();
  }

  private async train(job: Job, backend: BackendId | undefined, log: (line: string) => void): Promise<unknown> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-remote-'));
    let spec;
    let payload;
    try {
      ({ spec, job: payload } = trainingJobFrom(job.data, dir, backend));
    } catch (error) {
      fs.rmSync(dir, { recursive: true, force: true });
      // A job this worker refuses would be refused by every worker: fail it for good, and tell its studio.
      const message = error instanceof Error ? error.message : String(error);
      const data = job.data as { studio?: unknown; runId?: unknown; attempt?: unknown };
      if (typeof data.studio === 'string' && /^[a-z0-9]{8,32}$/.test(data.studio) && Number.isInteger(data.runId) && Number.isInteger(data.attempt)) {
        await appendEntry(this.redis, eventStreamKey(data.studio), data.runId as number, data.attempt as number, { type: 'failed', name: 'Error', message });
      }
      throw new UnrecoverableError(message);
    }
    const stream = eventStreamKey(spec.studio);
    const label = `${spec.studio}/${spec.runId}`;
    const append = (entry: StreamEntry) => appendEntry(this.redis, stream, spec.runId, spec.attempt, entry);
    this.running.set(label, spec.runId);
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const cancelPoll = setInterval(() => {
      void this.redis.exists(cancelKey(spec.studio, spec.runId, spec.attempt)).then((n) => n && Atomics.store(stop, 0, 1), () => undefined);
    }, CANCEL_POLL_MS);
    try {
      if (spec.resume) {
        const key = runFilesKey(spec.studio, spec.runId, spec.attempt, 'checkpoint');
        const manifest = await fileManifest(this.redis, key);
        if (manifest) await getFiles(this.redis, key, manifest, dir);
      }
      await append({ type: 'claimed', worker: this.identity });
      log(`[worker] run ${label} attempt ${spec.attempt}${spec.resume ? ' (resumed)' : ''} started`);
      // Entries go out in the order the job sent them; files are read the moment their event arrives (a snapshot).
      let chain: Promise<unknown> = Promise.resolve();
      const forward = (event: JobEvent) => {
        const step = this.forwarder(spec.studio, spec.runId, spec.attempt, dir, event);
        chain = chain.then(async () => append(await step()));
      };
      const task = startWorkerTask('local-learning', payload, { stop, onEvent: forward });
      let result: unknown;
      try {
        result = await task.result;
      } catch (error) {
        await chain;
        const failure = error as { name?: string; message?: string };
        await append({ type: 'failed', name: failure?.name ?? 'Error', message: failure?.message ?? String(error) });
        log(`[worker] run ${label} ${failure?.name === 'JobCancelled' ? 'cancelled' : `failed: ${failure?.message}`}`);
        throw new UnrecoverableError(failure?.message ?? String(error));
      }
      await chain;
      await append({ type: 'finished', result });
      log(`[worker] run ${label} finished`);
      return result;
    } finally {
      clearInterval(cancelPoll);
      this.running.delete(label);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** What to append for an event; checkpoint and weights files are read now and stored before their entry goes out. */
  private forwarder(studio: string, runId: number, attempt: number, dir: string, event: JobEvent): () => Promise<StreamEntry> {
    if (event.type === 'started') {
      const environment = { ...event.environment, host: this.identity.host, worker: this.identity.name, gpu: this.identity.gpu };
      return async () => ({ type: 'event', event: { ...event, environment } });
    }
    if (event.type === 'checkpoint') {
      const files = readFileSet(dir, CHECKPOINT_FILES);
      const state = JSON.parse(files.get('checkpoint.json')!.toString('utf8')) as { epoch: number; bytes: number };
      // The job already moved on if these disagree (a later epoch's files): that epoch ships its own.
      if (state.epoch !== event.epoch || state.bytes !== files.get('checkpoint.bin')!.length) return async () => ({ type: 'event', event });
      return async () => ({ type: 'event', event, files: await putFiles(this.redis, runFilesKey(studio, runId, attempt, 'checkpoint'), files) });
    }
    if (event.type === 'artifact' && event.artifact.kind === 'weights') {
      const files = readFileSet(dir, WEIGHTS_FILES);
      return async () => ({ type: 'event', event, files: await putFiles(this.redis, runFilesKey(studio, runId, attempt, 'weights'), files) });
    }
    return async () => ({ type: 'event', event });
  }
}

/** The first NVIDIA GPU's name where nvidia-smi answers, else null (no GPU, or another vendor's). */
function gpuName(): string | null {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { encoding: 'utf8', timeout: 3000, stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n')[0]!.trim() || null;
  } catch {
    return null;
  }
}
