/**
 * The job queue: runs wait in the store as `queued` (owned by this process, so the queue
 * survives a restart), start in submission order while fewer than `concurrency` are running,
 * each in its own worker thread with its own TF.js backend, and stream events that the ledger
 * writes to SQLite in batched transactions and the manager fans out to subscribers (the UI, the
 * CLI). A worker that throws or dies fails its run, never the process. A run another process on
 * this host was training becomes `interrupted` as soon as that process is found gone: when the
 * user acts on it and every few seconds while it shows as running.
 */
import { ApiError } from '../../shared/api/errors';
import type { Run } from '../../shared/api/schemas';
import type { JobKind } from '../../shared/ids';
import { isProcessAlive, THIS_PROCESS } from '../platform/process-owner';
import { type JobEvent, JobCancelled } from './events';
import { type JobDeps, jobKind } from './kinds';
import { RunLedger } from './run-ledger';
import { REMOTE_OWNER_HOST, type RemoteSink, type RemoteTarget } from './remote-target';
import { startWorkerTask, type WorkerTask } from './worker-task';

/** To subscribers: the run's row changed (status, or an epoch's results committed), or the job sent an event. */
export type JobUpdate = { runId: number; experimentId: number } & ({ type: 'run'; run: Run } | { type: 'event'; event: JobEvent });

export interface JobOutcome {
  run: Run;
  /** The runner's result when the run is done (for local learning, a TrainingResult). */
  result?: unknown;
}

export interface NewJob {
  experimentId: number;
  name: string;
  kind: JobKind;
  config: unknown;
}

/** Where a run trains: here, or on the remote queue (./remote-target.ts). */
export type JobTarget = 'local' | 'remote';

export interface JobManagerOptions extends JobDeps {
  /** How many jobs train at once; default 1. */
  concurrency?: number;
  /** How long a cancelled job may take to reach the end of its step before its worker is stopped (ms). */
  cancelGraceMs?: number;
  /** How often to look for runs left `running` by a process on this host that is gone (ms); default 3 s. */
  ownerCheckMs?: number;
  /**
   * Cap on each job worker's JavaScript heap, MiB (default: the BLOCKWISE_JOB_HEAP_MIB
   * environment variable, else Node's own limit). A run that needs more fails with an
   * out-of-memory message; the queue goes on.
   */
  workerHeapMiB?: number | undefined;
}

interface ActiveJob {
  experimentId: number;
  stop: Int32Array;
  cancelRequested: boolean;
  worker?: WorkerTask;
}

export class JobManager {
  private readonly deps: JobDeps;
  private readonly ledger: RunLedger;
  private readonly active = new Map<number, ActiveJob>();
  private readonly waiters = new Map<number, ((outcome: JobOutcome) => void)[]>();
  private readonly listeners = new Set<(update: JobUpdate) => void>();
  private concurrencyLimit: number;
  private heapMiB: number | undefined;
  private closed = false;
  private remote: RemoteTarget | null = null;
  private readonly ownerCheck: ReturnType<typeof setInterval>;

  constructor(private readonly options: JobManagerOptions) {
    this.deps = { store: options.store, datasets: options.datasets };
    this.ledger = new RunLedger(options.store);
    this.concurrencyLimit = checkConcurrency(options.concurrency ?? 1);
    this.heapMiB = checkHeapMiB('workerHeapMiB' in options ? options.workerHeapMiB : heapFromEnvironment());
    options.store.runs.adoptQueued(THIS_PROCESS, isProcessAlive);
    // One indexed query: cheap enough to run while the studio is open, so a run whose CLI or
    // second studio died does not show as running (Cancel and Resume refused) until a restart.
    this.ownerCheck = setInterval(() => this.releaseDeadOwners(), options.ownerCheckMs ?? 3000);
    this.ownerCheck.unref();
    this.schedule();
  }

  get concurrency(): number {
    return this.concurrencyLimit;
  }

  setConcurrency(value: number): void {
    this.concurrencyLimit = checkConcurrency(value);
    this.schedule();
  }

  /** The job workers' heap cap in MiB (undefined: Node's own limit). */
  get workerHeapMiB(): number | undefined {
    return this.heapMiB;
  }

  /** Change the heap cap for runs that start from now on; running ones keep theirs. */
  setWorkerHeapMiB(value: number | undefined): void {
    this.heapMiB = checkHeapMiB(value);
  }

  /**
   * Validate the settings, create the run as `queued` and start it when a slot is free (or hand
   * it to the remote queue). Bad settings, or a remote queue that cannot take it, create nothing.
   */
  submit(job: NewJob, target: JobTarget = 'local'): Run {
    const config = jobKind(job.kind).configure(job.config, this.deps);
    const remote = target === 'remote' ? this.remoteTarget() : null;
    remote?.checkAvailable({ kind: job.kind, config });
    const { store } = this.deps;
    store.projects.getExperiment(job.experimentId);
    const seed = typeof config.seed === 'number' ? config.seed : null;
    const run = store.db.transaction(() => {
      const created = store.runs.create({ experimentId: job.experimentId, name: job.name, kind: job.kind, config, seed });
      if (!remote) store.runs.claim(created.id, THIS_PROCESS);
      return created;
    })();
    if (remote) return this.announce(remote.enqueue(run, false));
    this.changed(run);
    this.schedule();
    return run;
  }

  /** Send runs to a remote queue from now on (null: none); returns the sink the target records through. */
  setRemote(create: ((sink: RemoteSink) => RemoteTarget) | null): RemoteTarget | null {
    const sink: RemoteSink = {
      ledger: this.ledger,
      record: (runId, experimentId, event) => this.record(runId, experimentId, event),
      changed: (run) => this.changed(run),
      settle: (outcome) => this.settle(outcome.run.id, outcome),
    };
    this.remote = create ? create(sink) : null;
    return this.remote;
  }

  /** Whether the remote queue owns this run (queued or trained there, or last was). */
  isRemote(runId: number): boolean {
    return this.deps.store.runs.owner(runId)?.host === REMOTE_OWNER_HOST;
  }

  private remoteTarget(): RemoteTarget {
    if (!this.remote) throw new ApiError('conflict', 'No remote queue is set up: add its Redis URL under Settings > Remote workers, or train on this machine.');
    return this.remote;
  }

  private announce(run: Run): Run {
    this.changed(run);
    return run;
  }

  /**
   * Runs left `running` or `queued` by a process on this host that is gone: the running ones
   * become `interrupted` (resumable), the queued ones join this queue. Each change is announced.
   * Returns the ids marked interrupted.
   */
  releaseDeadOwners(): number[] {
    if (this.closed) return [];
    const { store } = this.deps;
    let interrupted: number[] = [];
    try {
      interrupted = store.runs.recoverInterrupted(THIS_PROCESS.host, isProcessAlive);
      for (const id of interrupted) this.changed(store.runs.get(id));
      if (store.runs.adoptQueued(THIS_PROCESS, isProcessAlive).length) this.schedule();
    } catch (error) {
      // A timer must never throw; the next user action or tick tries again.
      console.error(`[jobs] could not check the processes that own runs: ${String(error)}`);
    }
    return interrupted;
  }

  /**
   * Queue a stopped run (interrupted, cancelled, failed) to continue from its last checkpoint;
   * by default where it trained last (here or on the remote queue).
   */
  resume(runId: number, target?: JobTarget): Run {
    const { store } = this.deps;
    this.releaseDeadOwners();
    const run = store.runs.get(runId);
    if (run.status === 'running' && !this.active.has(runId)) throw new ApiError('conflict', `${this.elsewhere(runId)} Resume it after it stops.`);
    jobKind(run.kind).checkResumable(run, this.deps);
    if ((target ?? (this.remote && this.isRemote(runId) ? 'remote' : 'local')) === 'remote') {
      const remote = this.remoteTarget();
      remote.checkAvailable(run);
      return this.announce(remote.enqueue(run, true));
    }
    store.runs.claim(runId, THIS_PROCESS);
    const queued = store.runs.setStatus(runId, 'queued');
    this.changed(queued);
    this.schedule();
    return queued;
  }

  /**
   * Stop a run: a queued one at once; a running one after its current step (its worker is
   * stopped if it does not get there within the grace period); an interrupted one (its training
   * process is gone, found now if need be) at once. Each ends `cancelled`, resumable from its last
   * checkpoint.
   */
  cancel(runId: number): Run {
    const { store } = this.deps;
    const job = this.active.get(runId);
    if (!job && this.remote && this.isRemote(runId) && ['queued', 'running'].includes(store.runs.get(runId).status)) return this.remote.cancel(runId);
    if (job) {
      job.cancelRequested = true;
      Atomics.store(job.stop, 0, 1);
      setTimeout(() => void job.worker?.terminate(), this.options.cancelGraceMs ?? 30_000).unref();
      return store.runs.get(runId);
    }
    this.releaseDeadOwners();
    const run = store.runs.get(runId);
    if (run.status === 'running') throw new ApiError('conflict', `${this.elsewhere(runId)} Stop it there (Ctrl+C in its terminal, or Cancel in that studio).`);
    // An interrupted run (its process died, maybe found just now) stopped already: cancelling records the user's choice.
    if (run.status !== 'queued' && run.status !== 'interrupted') throw new ApiError('conflict', `Run ${runId} is ${run.status}: only a queued, running or interrupted run can be cancelled, so there is nothing to cancel.`);
    const cancelled = store.runs.setStatus(runId, 'cancelled');
    this.changed(cancelled);
    return cancelled;
  }

  /** Why this manager cannot act on a running run: another live process trains it. */
  private elsewhere(runId: number): string {
    const owner = this.deps.store.runs.owner(runId);
    if (owner?.host === REMOTE_OWNER_HOST) return `Run ${runId} trains on a remote worker${this.remote ? '' : ', and no remote queue is set up here (Settings > Remote workers)'}.`;
    return `Run ${runId} is training in another process${owner ? ` (pid ${owner.pid} on ${owner.host === THIS_PROCESS.host ? 'this computer' : owner.host})` : ''}.`;
  }

  /** Resolves when the run reaches an end state (done, failed, cancelled, interrupted). */
  wait(runId: number): Promise<JobOutcome> {
    const run = this.deps.store.runs.get(runId);
    const remoteRunning = run.status === 'running' && this.isRemote(runId);
    if (!this.active.has(runId) && run.status !== 'queued' && !remoteRunning) return Promise.resolve({ run });
    return new Promise((resolve) => this.waiters.set(runId, [...(this.waiters.get(runId) ?? []), resolve]));
  }

  /** Runs training now. */
  runningIds(): number[] {
    return [...this.active.keys()];
  }

  subscribe(listener: (update: JobUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Stop every worker; their runs become `interrupted` (resumable from their last checkpoint).
   * Queued runs stay queued for the next start.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.ownerCheck);
    const jobs = [...this.active.entries()];
    this.active.clear();
    for (const [runId, job] of jobs) {
      await job.worker?.terminate();
      this.ledger.flush();
      const run = this.deps.store.runs.setStatus(runId, 'interrupted', 'The studio closed while this run trained; resume it from its last checkpoint.');
      this.settle(runId, { run });
    }
    this.listeners.clear();
  }

  private schedule(): void {
    if (this.closed) return;
    for (const runId of this.deps.store.runs.queuedBy(THIS_PROCESS)) {
      if (this.active.size >= this.concurrencyLimit) return;
      if (!this.active.has(runId)) this.start(runId);
    }
  }

  private start(runId: number): void {
    const { store } = this.deps;
    let run = store.runs.get(runId);
    const job: ActiveJob = { experimentId: run.experimentId, stop: new Int32Array(new SharedArrayBuffer(4)), cancelRequested: false };
    let filesDir: string | null = null;
    let payload: unknown;
    try {
      ({ payload, filesDir } = jobKind(run.kind).prepare(run, this.deps));
    } catch (error) {
      this.settle(runId, { run: this.ledger.fail(runId, error) });
      return;
    }
    this.active.set(runId, job);
    run = this.ledger.begin(runId);
    this.changed(run);
    const onEvent = (event: JobEvent) => this.record(runId, job.experimentId, event);
    const task = startWorkerTask(run.kind, payload, { stop: job.stop, onEvent, heapMiB: this.heapMiB });
    job.worker = task;
    void task.result.then(
      (result) => this.end(runId, job, () => ({ run: this.ledger.finish(runId, filesDir), result })),
      (error: unknown) => this.end(runId, job, () => ({ run: this.ledger.fail(runId, job.cancelRequested ? new JobCancelled() : error) })),
    );
  }

  /** A job's event: to the store, to the subscribers. */
  private record(runId: number, experimentId: number, event: JobEvent): void {
    this.ledger.apply(runId, event);
    this.notify({ runId, experimentId, type: 'event', event });
    // The backend (started) and the first step's measured memory are shown at once, not at the epoch's end.
    if (event.type === 'started' || (event.type === 'records' && (event.commit || event.memory?.length))) this.changed(this.deps.store.runs.get(runId));
  }

  /** Record how a job ended (unless close() already did), tell the waiters and start the next. */
  private end(runId: number, job: ActiveJob, record: () => JobOutcome): void {
    if (this.active.get(runId) !== job) return;
    this.active.delete(runId);
    let outcome: JobOutcome;
    try {
      outcome = record();
    } catch (error) {
      console.error(`[jobs] run ${runId} ended but could not be recorded: ${String(error)}`);
      outcome = { run: this.deps.store.runs.get(runId) };
    }
    this.changed(outcome.run);
    this.settle(runId, outcome);
    this.schedule();
  }

  private settle(runId: number, outcome: JobOutcome): void {
    for (const resolve of this.waiters.get(runId) ?? []) resolve(outcome);
    this.waiters.delete(runId);
  }

  private changed(run: Run): void {
    this.notify({ runId: run.id, experimentId: run.experimentId, type: 'run', run });
  }

  private notify(update: JobUpdate): void {
    for (const listener of this.listeners) {
      try {
        listener(update);
      } catch (error) {
        console.error(`[jobs] a subscriber failed on run ${update.runId}: ${String(error)}`);
      }
    }
  }
}

function checkHeapMiB(value: number | undefined): number | undefined {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1)) throw new ApiError('bad_request', `A job worker's heap limit must be a whole number of MiB (1 or more), got ${value}.`);
  return value;
}

function heapFromEnvironment(): number | undefined {
  const text = process.env.BLOCKWISE_JOB_HEAP_MIB?.trim();
  if (!text) return undefined;
  const value = Number(text);
  if (!(Number.isInteger(value) && value >= 1)) throw new Error(`BLOCKWISE_JOB_HEAP_MIB must be a whole number of MiB (e.g. 4096), got "${text}". Fix or unset it.`);
  return value;
}

function checkConcurrency(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 64) throw new ApiError('bad_request', `Concurrency must be a whole number from 1 to 64, got ${value}.`);
  return value;
}
