/**
 * Data-parallel training on worker threads, for every method: N workers each hold the whole
 * training state (network, auxiliary nets, MAN's EMA copies, momentum), each batch is cut into
 * N shards in order, each worker computes its shard's gradients, the gradients are summed in
 * shared memory weighted by shard size (./data-parallel-allreduce.ts: the gradient of the whole
 * batch's mean loss), and every worker applies the same update, so the N replicas stay equal
 * (checked at every epoch's end by checksum).
 *
 * BatchNorm: each shard normalises with its own batch statistics, as PyTorch's DDP does (not
 * synchronised BatchNorm); the running statistics, which DDP takes from rank 0, are instead the
 * shard-size-weighted mean of every worker's after each step, so every replica holds the same.
 * N workers therefore give the gradients of one thread that trains the same shards one after
 * another from the same state (test/unit/engine/data-parallel.test.ts), not those of the whole
 * batch at once.
 *
 * The coordinator (this thread) feeds the workers, as in module-parallel training
 * (./module-parallel-trainer.ts): it prepares the batches, sends each worker its shard and
 * gathers the losses; its own copy of the state is idle during an epoch and holds the trained
 * state again when trainEpoch resolves. Module-parallel and data-parallel training are not
 * combined: a run uses one or the other (shared/engine/config.ts says so).
 */
import type { BackendId } from '../../../shared/ids';
import type { HostBatch } from '../../data/batches';
import { workerScript } from '../../platform/workers';
import type { TrainingState } from '../train/checkpoint';
import type { CreateTrainerOptions } from '../train/create-trainer';
import { abortAllReduce, type AllReduceBuffers, allocateAllReduce, shardSizes } from './data-parallel-allreduce';
import { type DataParallelLayout, dataParallelLayout } from './data-parallel-layout';
import { DATA_PARALLEL_ROLE, type DataWorkerInit, type FromDataWorker, type ToDataWorker } from './protocol';
import { buffersOf, readValues, sgdFromWire, sgdToWire, writeValues } from './stage-state';
import { activeBackend, type PoolWords, WorkerPool } from './worker-pool';

/** The most workers a run may ask for. */
export const MAX_DATA_WORKERS = 64;

export interface DataParallelOptions {
  /** Worker threads, each training a shard of every batch: 1 to MAX_DATA_WORKERS. */
  workers: number;
  /** The backend every worker starts; default the one active in this thread. */
  backend?: BackendId;
  /** Batches sent to the workers and not yet trained: the memory bound. Default 2. */
  maxInFlight?: number;
  /** Test only: make one worker throw at one step (the others are then waiting for it). */
  fault?: { rank: number; step: number };
}

export interface DataEpochReport {
  steps: number;
  /** Mean seconds of a step in each worker (its shard's forward and backward, the all-reduce and the update). */
  workerStepSeconds: number[];
  /** Wall-clock seconds of the epoch, state hand-over included. */
  seconds: number;
}

const WORDS: PoolWords = {
  training: 'data-parallel training',
  className: 'DataParallelTrainer',
  member: 'a worker',
  name: (rank) => `data-parallel worker ${rank}`,
  thread: 'its thread',
};

type StepMessage = Extract<FromDataWorker, { type: 'step' }>;

export class DataParallelTrainer extends WorkerPool<FromDataWorker, ToDataWorker> {
  private readonly layout: DataParallelLayout;
  private readonly buffers: AllReduceBuffers;
  private readonly maxInFlight: number;
  /** Per step of the epoch: the shard sizes and each worker's report; emitted in step order once all are in. */
  private readonly pending = new Map<number, { sizes: number[]; reports: (StepMessage | undefined)[] }>();
  private secondsSum: number[] = [];

  private constructor(
    private readonly state: TrainingState,
    recipe: Omit<CreateTrainerOptions, 'model'>,
    backend: BackendId,
    options: DataParallelOptions,
  ) {
    super(WORDS);
    const { model, sgd } = state;
    this.layout = dataParallelLayout(state);
    this.buffers = allocateAllReduce(options.workers, this.layout.length, this.layout.trainable.length);
    this.maxInFlight = options.maxInFlight ?? 2;
    if (!(Number.isInteger(this.maxInFlight) && this.maxInFlight >= 1)) throw new RangeError(`maxInFlight must be a whole number >= 1, got ${this.maxInFlight}`);
    const file = workerScript('stage-worker');
    for (let rank = 0; rank < options.workers; rank++) {
      const init: DataWorkerInit = {
        role: DATA_PARALLEL_ROLE,
        rank,
        backend,
        model: { depth: model.depth, input: { ...model.input }, classes: model.classes, seed: model.seed },
        trainer: recipe,
        sgd: { momentum: sgd.momentum, weightDecay: sgd.weightDecay, nesterov: sgd.nesterov, dampening: sgd.dampening },
        buffers: this.buffers,
        ...(options.fault?.rank === rank ? { faultAtStep: options.fault.step } : {}),
      };
      this.spawn(rank, file, { workerData: init });
    }
  }

  /**
   * Start `options.workers` workers for the run whose in-thread state is `state`, each building
   * its trainer from `recipe` (what built state.trainer, the model aside).
   */
  static async create(state: TrainingState, recipe: Omit<CreateTrainerOptions, 'model'>, options: DataParallelOptions): Promise<DataParallelTrainer> {
    const { workers } = options;
    if (!(Number.isInteger(workers) && workers >= 1 && workers <= MAX_DATA_WORKERS)) throw new RangeError(`data-parallel training needs 1 to ${MAX_DATA_WORKERS} workers, got ${workers}`);
    const parallel = new DataParallelTrainer(state, recipe, options.backend ?? activeBackend(WORDS.training), options);
    await parallel.startOrShutdown();
    return parallel;
  }

  get workers(): number {
    return this.handles.length;
  }

  /**
   * Train on every batch of `batches`, as ModuleParallelTrainer.trainEpoch does: learningRateAt(step)
   * gives each step's rate (steps numbered from 0 within the call), onStep(step, losses) gets each
   * step's loss per module (the shard-size-weighted mean over the workers), in step order. The
   * in-thread state goes to every worker first and holds the trained state when it resolves. A
   * worker's failure rejects it with the worker's message and ends every worker.
   */
  async trainEpoch(batches: AsyncIterable<HostBatch>, learningRateAt: (step: number) => number, onStep: (step: number, losses: number[]) => void): Promise<DataEpochReport> {
    return this.guardEpoch(() => this.epoch(batches, learningRateAt, onStep));
  }

  private async epoch(batches: AsyncIterable<HostBatch>, learningRateAt: (step: number) => number, onStep: (step: number, losses: number[]) => void): Promise<DataEpochReport> {
    const started = performance.now();
    const { sgd } = this.state;
    await this.sendState();
    this.pending.clear();
    this.secondsSum = new Array<number>(this.handles.length).fill(0);
    const { steps, lr } = await this.feed(batches, learningRateAt, onStep, this.maxInFlight, (step, rate, batch) => this.sendBatch(step, rate, batch));
    await this.collectState(steps);
    if (lr !== null) sgd.setLearningRate(lr);
    return { steps, workerStepSeconds: this.secondsSum.map((s) => (steps > 0 ? s / steps : 0)), seconds: (performance.now() - started) / 1000 };
  }

  /** Each worker its shard: consecutive images, as even as possible. */
  private sendBatch(step: number, lr: number, batch: HostBatch): void {
    const sizes = shardSizes(batch.size, this.handles.length);
    const { height, width, channels } = batch.shape;
    const pixels = height * width * channels;
    this.pending.set(step, { sizes, reports: new Array<StepMessage | undefined>(sizes.length).fill(undefined) });
    let first = 0;
    sizes.forEach((size, rank) => {
      const x = size > 0 ? batch.x.slice(first * pixels, (first + size) * pixels) : null;
      const y = size > 0 ? batch.y.slice(first, first + size) : null;
      first += size;
      this.post(rank, { type: 'batch', step, lr, sizes, shape: [size, height, width, channels], x, y }, buffersOf(x, y));
    });
  }

  /** The in-thread state (values and momentum) to every worker. */
  private async sendState(): Promise<void> {
    const { state } = this.layout;
    const values = await readValues(state);
    const sgd = sgdToWire(this.state.sgd, state);
    this.handles.forEach((_, rank) => {
      const copy = { values: values.slice(), sgd: { step: sgd.step, buffers: sgd.buffers.map((b) => ({ index: b.index, values: b.values.slice() })) } };
      this.post(rank, { type: 'epoch', ...copy }, buffersOf(copy.values, ...copy.sgd.buffers.map((b) => b.values)));
    });
  }

  /** Worker 0's state into the in-thread state, after checking that every worker holds the same. */
  private async collectState(steps: number): Promise<void> {
    const replies = await this.request('state', (rank) => ({ type: 'collect', values: rank === 0 }));
    const differing = replies.findIndex((r) => r.checksum !== replies[0]!.checksum);
    if (differing > 0) throw new Error(`data-parallel worker ${differing} holds a different state from worker 0 after the epoch (a bug: every worker applies the same update)`);
    const { values, sgd } = replies[0]!;
    const expected = this.state.sgd.stepCount + steps;
    if (!values || !sgd) throw new Error('data-parallel worker 0 sent no state');
    if (sgd.step !== expected) throw new Error(`data-parallel worker 0 reports optimiser step ${sgd.step}, expected ${expected}`);
    writeValues(this.layout.state, values);
    sgdFromWire(this.state.sgd, sgd, this.layout.state);
  }

  protected stepDone(rank: number, message: StepMessage): void {
    const entry = this.pending.get(message.step);
    if (!entry) return this.fail(new Error(`data-parallel worker ${rank} reported step ${message.step}, which was never sent`));
    entry.reports[rank] = message;
    this.report((step) => {
      const done = this.pending.get(step);
      if (!done || done.reports.some((r) => r === undefined)) return undefined;
      this.pending.delete(step);
      const total = done.sizes.reduce((a, b) => a + b, 0);
      const modules = done.reports.find((r) => r!.losses.length > 0)!.losses.length;
      done.reports.forEach((r, i) => (this.secondsSum[i]! += r!.seconds));
      return Array.from({ length: modules }, (_, k) => done.reports.reduce((sum, r, i) => sum + (done.sizes[i]! > 0 ? done.sizes[i]! * r!.losses[k]! : 0), 0) / total);
    });
  }

  /** Workers waiting at a barrier for the one that failed would wait for ever. */
  protected override failed(): void {
    abortAllReduce(this.buffers);
  }
}
