/**
 * The worker-thread lifecycle that data-parallel (./data-parallel-trainer.ts) and module-parallel
 * (./module-parallel-trainer.ts) training share: starting the workers, routing their messages,
 * waiting for a condition while any failure rejects the wait, guarding an epoch (one at a time,
 * none after close or a failure, a failure ends every worker), feeding an epoch's batches with
 * a bound on those in flight, reporting steps in order, and shutting down. Each trainer keeps its
 * own epoch: what it sends, and how it merges the workers' step reports.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { BackendId } from '../../../shared/ids';
import type { HostBatch } from '../../data/batches';

/** What a pool's messages call things, so each trainer keeps its own wording. */
export interface PoolWords {
  /** The kind of training, e.g. 'data-parallel training'. */
  training: string;
  /** The class to create anew after close, e.g. 'DataParallelTrainer'. */
  className: string;
  /** What can fail, e.g. 'a worker'. */
  member: string;
  /** One worker's name in messages, e.g. 'stage 1'. */
  name(index: number): string;
  /** What its exit is called, e.g. 'its thread'. */
  thread: string;
}

/** The BackendId of the backend active in this thread; `training` names who asks, for the message. */
export function activeBackend(training: string): BackendId {
  const name = tf.getBackend();
  if (name === 'wasm' || name === 'cpu' || name === 'webgpu') return name;
  throw new Error(`${training} cannot tell which BackendId the active backend '${name}' is: pass options.backend (the run's backend id)`);
}

interface WorkerHandle<From> {
  worker: Worker;
  exited: Promise<void>;
  alive: boolean;
  /** The worker's latest answer to a request (ready, calibrated, state). */
  reply: From | null;
}

type ErrorMessage = { type: 'error'; message: string };

export abstract class WorkerPool<From extends { type: string }, To> {
  protected readonly handles: WorkerHandle<From>[] = [];
  protected failure: Error | null = null;
  private closed = false;
  private running = false;
  private readonly waiters = new Set<() => boolean>();
  /** Steps of the current epoch reported to onStep. */
  protected completed = 0;
  private onStep: (step: number, losses: number[]) => void = () => {};

  protected constructor(private readonly words: PoolWords) {}

  /** A worker's report of a trained step; every other answer but an error is kept as its reply. */
  protected abstract stepDone(index: number, message: Extract<From, { type: 'step' }>): void;

  /** Start worker `index` (the next one) from `file`. */
  protected spawn(index: number, file: string | URL, options: WorkerOptions): void {
    const worker = new Worker(file, options);
    const handle: WorkerHandle<From> = { worker, alive: true, reply: null, exited: new Promise((resolve) => worker.once('exit', () => resolve())) };
    worker.on('message', (message: From) => this.received(index, message));
    worker.on('error', (error: unknown) => this.fail(new Error(`${this.words.name(index)}: ${error instanceof Error ? error.message : String(error)}`)));
    worker.on('exit', (code) => {
      handle.alive = false;
      if (!this.closed) this.fail(new Error(`${this.words.name(index)}: ${this.words.thread} exited (code ${code})`));
      this.notify();
    });
    this.handles.push(handle);
  }

  /** Wait until every worker is ready, then run `then`; on a failure end every worker and throw its cause. */
  protected async startOrShutdown(then: () => Promise<void> = async () => {}): Promise<void> {
    try {
      await this.until(() => this.handles.every((h) => h.reply?.type === 'ready'));
      await then();
    } catch (error) {
      const cause = this.failure ?? error;
      await this.shutdown();
      throw cause;
    }
  }

  /** Worker threads still running (0 after close() or a failure). */
  get liveWorkers(): number {
    return this.handles.filter((h) => h.alive).length;
  }

  /** Run one epoch at a time, none once closed; a failure ends every worker and rejects with its cause. */
  protected async guardEpoch<R>(epoch: () => Promise<R>): Promise<R> {
    const { training, member, className } = this.words;
    if (this.closed) throw new Error(`${training} is closed (close() was called or ${member} failed): create a new ${className}`);
    if (this.running) throw new Error(`${training} is already running an epoch`);
    this.running = true;
    try {
      return await epoch();
    } catch (error) {
      const cause = this.failure ?? error;
      await this.shutdown();
      throw cause;
    } finally {
      this.running = false;
    }
  }

  /**
   * Send every batch of `batches` with `send(step, lr, batch)`, steps numbered from 0, at the rate
   * learningRateAt(step), with at most `maxInFlight` sent and not yet reported; resolves once every
   * step is reported (see report) with the step count and the last rate (null: no batch).
   */
  protected async feed(
    batches: AsyncIterable<HostBatch>,
    learningRateAt: (step: number) => number,
    onStep: (step: number, losses: number[]) => void,
    maxInFlight: number,
    send: (step: number, lr: number, batch: HostBatch) => void,
  ): Promise<{ steps: number; lr: number | null }> {
    this.completed = 0;
    this.onStep = onStep;
    let admitted = 0;
    let lr: number | null = null;
    for await (const batch of batches) {
      await this.until(() => admitted - this.completed < maxInFlight);
      const rate = learningRateAt(admitted);
      if (!(Number.isFinite(rate) && rate >= 0)) throw new Error(`learningRateAt(${admitted}) gave ${rate}: a learning rate is a finite number >= 0`);
      send(admitted, rate, batch);
      lr = rate;
      admitted++;
    }
    await this.until(() => this.completed === admitted);
    return { steps: admitted, lr };
  }

  /**
   * Give onStep every step whose reports are all in, in step order: `losses(step)` merges that
   * step's reports (and forgets them), or says undefined while one is missing. An onStep that
   * throws fails the epoch.
   */
  protected report(losses: (step: number) => number[] | undefined): void {
    for (;;) {
      const merged = losses(this.completed);
      if (!merged) return;
      try {
        this.onStep(this.completed, merged);
      } catch (error) {
        this.fail(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      this.completed++;
    }
  }

  /** End every worker; safe to call at any time and more than once. A running trainEpoch rejects. */
  async close(): Promise<void> {
    await this.shutdown();
  }

  protected post(index: number, message: To, transfer: ArrayBuffer[] = []): void {
    this.handles[index]!.worker.postMessage(message, transfer);
  }

  /** Send each worker its request (null: none) and wait for the answers, of type `type`, of those asked. */
  protected async request<T extends From['type']>(type: T, message: (index: number) => To | null): Promise<Extract<From, { type: T }>[]> {
    const asked = this.handles.filter((h, i) => {
      const m = message(i);
      if (m) {
        h.reply = null;
        this.post(i, m);
      }
      return m !== null;
    });
    await this.until(() => asked.every((h) => h.reply?.type === type));
    return asked.map((h) => h.reply as Extract<From, { type: T }>);
  }

  private received(index: number, message: From): void {
    switch (message.type) {
      case 'error':
        this.fail(new Error(`${this.words.name(index)}: ${(message as unknown as ErrorMessage).message}`));
        return;
      case 'step':
        this.stepDone(index, message as Extract<From, { type: 'step' }>);
        break;
      default:
        this.handles[index]!.reply = message;
    }
    this.notify();
  }

  /** Called on every failure, before the waits reject: what else must stop. */
  protected failed(): void {}

  protected fail(error: Error): void {
    this.failure ??= error;
    this.failed();
    this.notify();
  }

  /** Resolves once `ready()` holds (checked after every message), rejects on the first failure. */
  protected until(ready: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.failure) reject(this.failure);
        else if (ready()) resolve();
        else return false;
        return true;
      };
      if (!check()) this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const check of [...this.waiters]) if (check()) this.waiters.delete(check);
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    this.fail(new Error(`${this.words.training} was closed`));
    await Promise.all(
      this.handles.map(async (h) => {
        if (h.alive) await h.worker.terminate();
        await h.exited;
      }),
    );
  }
}
