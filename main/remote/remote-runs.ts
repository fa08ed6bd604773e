/**
 * The studio's side of the remote queue: it queues runs as BullMQ jobs (validated data, one job
 * per attempt), reads its event stream and applies every entry through the job manager's own
 * ledger (the same rows, the same pushes to the windows as a local run), fetches the files the
 * workers ship (checkpoints, weights) into the run's folder, stops runs on request, and turns a
 * run whose worker died (BullMQ's stalled check failed its job) into `interrupted`.
 */
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { ApiError } from '../../shared/api/errors';
import type { Run } from '../../shared/api/schemas';
import type { JobKind } from '../../shared/ids';
import { hasCheckpoint } from '../engine/train/checkpoint';
import { runFilesDir } from '../engine/train/run-config';
import { REMOTE_OWNER_HOST, remoteOwner, type RemoteSink, type RemoteTarget } from '../jobs/remote-target';
import type { Store } from '../store';
import { fileManifest, getFiles, putFiles, readFileSet, removeFiles } from './artifacts';
import { lastRedisError, openRedis } from './connection';
import { readEntries, type StreamRecord, type WorkerIdentity } from './event-stream';
import { cancelKey, eventStreamKey, QUEUE_NAME, remoteJobId, runFilesKey } from './keys';
import { REMOTE_JOB_VERSION, type RemoteJobData, remoteDatasetRefusal } from './remote-job';
import type { RemoteSettingsFile } from './remote-settings';
import { listWorkers, type WorkerState } from './worker-registry';

const READ_BATCH = 500;
const CHECKPOINT_FILES = ['checkpoint.json', 'checkpoint.bin'];

export interface RemoteRunsOptions {
  store: Store;
  url: string;
  settings: RemoteSettingsFile;
  sink: RemoteSink;
  /** How often running remote runs are checked for a dead worker (ms); default 1 s. */
  checkMs?: number;
  /** How often this studio runs BullMQ's stalled check itself (ms); default 2 s. */
  stallCheckMs?: number;
}

export class RemoteRuns implements RemoteTarget {
  private readonly store: Store;
  private readonly redis: Redis;
  /** XREAD BLOCK holds its connection: a second one for that alone. */
  private readonly reader: Redis;
  private readonly queue: Queue;
  private readonly queueConnection: Redis;
  /** BullMQ's stalled check, run here too: a run is found dead even when no other worker is alive to look. */
  private readonly stallChecker: Worker;
  private readonly stallConnection: Redis;
  private readonly studio: string;
  private readonly stream: string;
  private lastId: string;
  private closed = false;
  private readonly loop: Promise<void>;
  private lastCheck = 0;
  /** Runs whose job is being added (their job does not exist yet: not stalled). */
  private readonly adding = new Set<number>();
  /** Who trains each remote run, from its `claimed` entry. */
  private readonly trainedBy = new Map<number, WorkerIdentity>();
  private loopError: string | null = null;

  constructor(private readonly options: RemoteRunsOptions) {
    this.store = options.store;
    const { studioId, lastEventId } = options.settings.get();
    this.studio = studioId;
    this.stream = eventStreamKey(studioId);
    this.lastId = lastEventId;
    // Short calls give up while Redis is away (the loop retries; the status says why) instead of queueing forever.
    this.redis = openRedis(options.url, { name: `blockwise-studio-${studioId}`, maxRetriesPerRequest: 1 });
    this.reader = openRedis(options.url, { name: `blockwise-studio-${studioId}-events` });
    this.queueConnection = openRedis(options.url, { name: `blockwise-studio-${studioId}-queue` });
    this.queue = new Queue(QUEUE_NAME, {
      connection: this.queueConnection,
      defaultJobOptions: { attempts: 1, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } },
    });
    this.queue.on('error', () => undefined); // the status says so (connected: false)
    this.stallConnection = openRedis(options.url, { name: `blockwise-studio-${studioId}-stalled` });
    // No processor and never run: it takes no job, it only looks for jobs whose worker stopped renewing their lock.
    this.stallChecker = new Worker(QUEUE_NAME, null, { connection: this.stallConnection, autorun: false, maxStalledCount: 0, stalledInterval: options.stallCheckMs ?? 2000 });
    this.stallChecker.on('error', () => undefined);
    void this.stallChecker.startStalledCheckTimer().catch(() => undefined);
    this.loop = this.pump();
  }

  /** Resolves once the connections are up, or after `timeoutMs` (then `connected` says false). */
  async ready(timeoutMs = 3000): Promise<void> {
    const up = (redis: Redis) => (redis.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => redis.once('ready', () => resolve())));
    await Promise.race([Promise.all([up(this.redis), up(this.reader)]), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  /** Why the queue cannot be reached (null: it can). */
  get problem(): string | null {
    if (this.connected && this.reader.status === 'ready') return this.loopError;
    return lastRedisError(this.redis) ?? lastRedisError(this.reader) ?? `connecting (${this.redis.status})`;
  }

  workers(): Promise<WorkerState[]> {
    return listWorkers(this.redis);
  }

  /** The worker that took this run, as its `claimed` entry said (this session only). */
  workerOf(runId: number): WorkerIdentity | undefined {
    return this.trainedBy.get(runId);
  }

  checkAvailable(run: { kind: JobKind; config: Record<string, unknown> }): void {
    if (run.kind !== 'local-learning') throw new ApiError('bad_request', `Remote workers train local-learning runs only in this version; train this ${run.kind} run on this machine. Nothing was changed.`);
    const refusal = typeof run.config.dataset === 'string' ? remoteDatasetRefusal(run.config.dataset) : null;
    if (refusal) throw new ApiError('bad_request', `${refusal} Nothing was changed.`);
    if (!this.connected) throw new ApiError('conflict', `The remote queue's Redis cannot be reached (${this.problem ?? 'not connected'}): train on this machine, or check Settings > Remote workers. Nothing was changed.`);
  }

  enqueue(run: Run, resume: boolean): Run {
    const { store } = this;
    // A new attempt number each time (ms since 1970, above any earlier one): BullMQ ignores a job id it has seen.
    const previous = store.runs.owner(run.id);
    const attempt = Math.max(Date.now(), previous?.host === REMOTE_OWNER_HOST ? previous.pid + 1 : 0);
    store.runs.claim(run.id, remoteOwner(attempt));
    const queued = run.status === 'queued' ? run : store.runs.setStatus(run.id, 'queued');
    const data: RemoteJobData = { version: REMOTE_JOB_VERSION, studio: this.studio, runId: run.id, attempt, kind: 'local-learning', config: run.config, resume };
    const dir = runFilesDir(store.path, run.id);
    this.adding.add(run.id);
    void (async () => {
      // The checkpoint a resume starts from goes up first (trained here or fetched from the last worker).
      if (resume && dir && hasCheckpoint(dir)) await putFiles(this.redis, runFilesKey(this.studio, run.id, attempt, 'checkpoint'), readFileSet(dir, CHECKPOINT_FILES));
      if (previous?.host === REMOTE_OWNER_HOST) await this.removeAttemptFiles(run.id, previous.pid);
      await this.queue.add('train', data, { jobId: remoteJobId(this.studio, run.id, attempt) });
    })()
      .catch((error: unknown) => {
        if (store.runs.owner(run.id)?.pid !== attempt || store.runs.get(run.id).status !== 'queued') return;
        this.options.sink.ledger.fail(run.id, new Error(`The remote queue did not take this run: ${(error as Error).message}. Resume it when Redis is back, or on this machine.`));
        this.ended(run.id);
      })
      .finally(() => this.adding.delete(run.id));
    return queued;
  }

  cancel(runId: number): Run {
    const { store } = this;
    const run = store.runs.get(runId);
    const attempt = store.runs.owner(runId)!.pid;
    void this.redis.set(cancelKey(this.studio, runId, attempt), '1', 'EX', 24 * 3600).catch(() => undefined);
    if (run.status !== 'queued') return run; // running: its worker stops after the current step and says so
    void this.queue.remove(remoteJobId(this.studio, runId, attempt)).catch(() => undefined);
    store.runs.setStatus(runId, 'cancelled');
    return this.ended(runId);
  }

  /** Stops reading (remote runs go on training; the next start reads on from here). Never waits on a Redis that is gone. */
  async close(): Promise<void> {
    this.closed = true;
    this.reader.disconnect();
    // With Redis away, BullMQ's calls wait for it (they retry forever): give each a second, then drop the connections.
    const aSecond = () => new Promise((resolve) => setTimeout(resolve, 1000).unref());
    await Promise.race([this.loop, aSecond()]);
    await Promise.race([Promise.all([this.queue.close(), this.stallChecker.close(true)]).catch(() => undefined), aSecond()]);
    this.stallConnection.disconnect();
    this.queueConnection.disconnect();
    this.redis.disconnect();
  }

  /** Read the stream from the last applied id, apply, remember; between reads, look for dead workers. */
  private async pump(): Promise<void> {
    while (!this.closed) {
      try {
        const records = await readEntries(this.reader, this.stream, this.lastId, READ_BATCH, 1000);
        await this.applyAll(records);
        if (records.length < READ_BATCH && Date.now() - this.lastCheck >= (this.options.checkMs ?? 1000)) {
          this.lastCheck = Date.now();
          await this.findStalled();
        }
        this.loopError = null;
      } catch (error) {
        if (this.closed) break;
        this.loopError = (error as Error).message;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  private async applyAll(records: StreamRecord[]): Promise<void> {
    if (!records.length) return;
    for (const record of records) {
      try {
        await this.apply(record);
      } catch (error) {
        console.error(`[remote] entry ${record.id} of run ${record.runId} could not be applied: ${(error as Error).message}`);
      }
      this.lastId = record.id;
    }
    // Rows first, then the id that says they are in: a crash between the two re-applies a few entries, never skips one.
    this.options.sink.ledger.flush();
    this.options.settings.update({ lastEventId: this.lastId });
    await this.redis.xtrim(this.stream, 'MINID', this.lastId);
  }

  private async apply({ runId, attempt, entry }: StreamRecord): Promise<void> {
    const { store, options } = this;
    const { sink } = options;
    let run: Run;
    try {
      run = store.runs.get(runId);
    } catch {
      return; // deleted since
    }
    const owner = store.runs.owner(runId);
    // An older attempt (a worker thought dead that lived on), a run taken back, or one already ended: not this run's story any more.
    if (owner?.host !== REMOTE_OWNER_HOST || owner.pid !== attempt || (run.status !== 'queued' && run.status !== 'running')) return;
    const dir = runFilesDir(store.path, runId);
    switch (entry.type) {
      case 'claimed':
        this.trainedBy.set(runId, entry.worker);
        if (run.status === 'queued') sink.changed(store.runs.setStatus(runId, 'running'));
        return;
      case 'event': {
        if (run.status === 'queued') sink.changed(store.runs.setStatus(runId, 'running'));
        let event = entry.event;
        if (event.type === 'checkpoint' && entry.files && dir) {
          const key = runFilesKey(this.studio, runId, attempt, 'checkpoint');
          // Catching up after a restart, a later epoch's checkpoint may have replaced this one: that entry brings it.
          if ((await fileManifest(this.redis, key))?.version === entry.files.version) await getFiles(this.redis, key, entry.files, dir);
        }
        if (event.type === 'artifact' && event.artifact.kind === 'weights') {
          if (!entry.files || !dir) return;
          await getFiles(this.redis, runFilesKey(this.studio, runId, attempt, 'weights'), entry.files, dir);
          event = { ...event, artifact: { ...event.artifact, path: dir } };
        }
        sink.record(runId, run.experimentId, event);
        return;
      }
      case 'finished':
        sink.ledger.finish(runId, dir);
        this.ended(runId, entry.result);
        void this.removeAttemptFiles(runId, attempt).catch(() => undefined);
        return;
      case 'failed':
        sink.ledger.fail(runId, Object.assign(new Error(entry.message), { name: entry.name }));
        this.ended(runId);
        return;
    }
  }

  /** This studio's runs on the queue now (queued or running), oldest first, with the worker training each. */
  activeRuns(): { id: number; status: Run['status']; worker: string | null }[] {
    return this.activeRows().map(({ id }) => {
      const run = this.store.runs.get(id);
      return { id, status: run.status, worker: this.trainedBy.get(id)?.name ?? run.environment?.worker ?? null };
    });
  }

  private activeRows(): { id: number; owner_pid: number }[] {
    return this.store.db
      .prepare<[string], { id: number; owner_pid: number }>(`SELECT id, owner_pid FROM runs WHERE owner_host = ? AND status IN ('queued', 'running') ORDER BY id`)
      .all(REMOTE_OWNER_HOST);
  }

  /**
   * Remote runs whose job BullMQ failed as stalled (its worker stopped renewing the lock: killed,
   * cut off) become `interrupted`, after the stream's last entries from that worker are applied.
   */
  private async findStalled(): Promise<void> {
    for (const { id, owner_pid: attempt } of this.activeRows()) {
      if (this.adding.has(id)) continue;
      const job = await this.queue.getJob(remoteJobId(this.studio, id, attempt));
      let reason: string | null = null;
      if (!job) reason = 'Its job is gone from the remote queue (was Redis emptied?)';
      else if (await isStalled(job)) {
        const worker = this.trainedBy.get(id);
        reason = `The worker training it${worker ? ` (${worker.name} on ${worker.host})` : ''} stopped answering: its queue lock expired (killed, or its network was lost)`;
      }
      if (!reason) continue;
      // Whatever that worker said before it went is applied first.
      await this.applyAll(await readEntries(this.reader, this.stream, this.lastId, READ_BATCH, 0));
      const run = this.store.runs.get(id);
      if (this.store.runs.owner(id)?.pid !== attempt || (run.status !== 'queued' && run.status !== 'running')) continue;
      this.store.runs.setStatus(id, 'interrupted', `${reason}; resume it from its last checkpoint on any worker.`);
      this.ended(id);
    }
  }

  /** An attempt's files in Redis, once the studio has them (finished) or a newer attempt starts from its own copy. */
  private async removeAttemptFiles(runId: number, attempt: number): Promise<void> {
    await Promise.all([removeFiles(this.redis, runFilesKey(this.studio, runId, attempt, 'checkpoint')), removeFiles(this.redis, runFilesKey(this.studio, runId, attempt, 'weights'))]);
  }

  private ended(runId: number, result?: unknown): Run {
    const run = this.store.runs.get(runId);
    this.trainedBy.delete(runId);
    this.options.sink.changed(run);
    this.options.sink.settle(result === undefined ? { run } : { run, result });
    return run;
  }
}

/**
 * BullMQ's stalled check found the job without its lock. With maxStalledCount 0 it marks the job
 * to fail and puts it back in the wait list, where it is failed when a worker next fetches it; a
 * busy queue can keep it waiting, so the mark (stalledCounter) is what counts, not the state.
 */
async function isStalled(job: Job): Promise<boolean> {
  const state = await job.getState();
  if (state === 'failed') return /stalled/i.test(job.failedReason ?? '');
  return state !== 'active' && state !== 'completed' && ((job as Job & { stalledCounter?: number }).stalledCounter ?? 0) > 0;
}
