/**
 * Module-parallel (pipelined) local training on worker threads. In greedy, DGL and InfoPro
 * training module k's gradients depend only on its input (module k-1's output, held constant),
 * its own units and its local head, and SGD (../train/sgd.ts) updates each variable on its own
 * given the step's learning rate. So a stage (a contiguous group of modules) can do forward,
 * local backward and its own SGD update on batch t while the next stage does the same on batch
 * t-1: module k+1 then reads module k's output computed with module k's weights after t-1
 * updates, exactly as in the sequential trainer, and after N steps every weight, BatchNorm
 * statistic and momentum buffer equals the sequential run's (test/unit/engine/module-parallel.test.ts).
 *
 * The coordinator (this thread) only feeds the stages: it prepares batches, hands each stage
 * the labels (the first stage and InfoPro's decoders also the images), and gathers the losses.
 * On 2 cores the two stages already fill both, and the coordinator also runs the data pipeline
 * (decode, augment, normalise), the run's records and progress; a stage run here would be
 * slowed by all of that and would block the event loop that hands activations on, stalling the
 * next stage. Its own copy of the network is idle during an epoch and holds the trained state
 * again when trainEpoch resolves, so evaluation and checkpoints work on it unchanged.
 *
 * End-to-end (one module), HPFF (its cascade loss spans two segments) and MAN (a module's loss
 * runs the next block's weights) are refused: their modules are coupled.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { moduleParallelRefusal, type TrainConfig, type TrainableMethod } from '../../../shared/engine/config';
import type { BackendId } from '../../../shared/ids';
import type { HostBatch } from '../../data/batches';
import { workerScript } from '../../platform/workers';
import type { TrainingState } from '../train/checkpoint';
import { LocalTrainer } from '../train/local-trainer';
import { balanceStages, checkStageModules, stageRanges } from './balance';
import type { FromStage, StageFault, StageInit, ToStage, WireState } from './protocol';
import { buffersOf, moduleLayout, readValues, writeValues } from './stage-state';
import { activeBackend, type PoolWords, WorkerPool } from './worker-pool';

export interface ModuleParallelOptions {
  /** Worker threads, each training a contiguous group of modules: 1 to K (the module count). */
  stages: number;
  /** The backend every stage starts; default config.backend, else the one active in this thread. */
  backend?: BackendId;
  /** Batches handed to the first stage and not yet through the last: the memory bound. Default stages + 1. */
  maxInFlight?: number;
  /**
   * Modules per stage at first, in order (summing to K). Default: balanced by seconds per module, timed
   * in the first stage's worker when created (each module alone, the fastest of 2 runs after a
   * warm-up, on random data of the run's batch size, at most 64).
   */
  stageModules?: number[];
  /**
   * Re-balance after every epoch by the seconds each module took in it. Off by default: on a
   * machine shared with other work one stage's thread can lose its core for a while, and the
   * times then mislead (seen here: a DGL split moved to a worse grouping).
   */
  rebalance?: boolean;
  /** Test only: make one stage fail. */
  fault?: StageFault;
}

export interface EpochReport {
  /** Steps (batches) trained. */
  steps: number;
  /** Modules per stage during the epoch. */
  stageModules: number[];
  /** Mean seconds of each module's forward and local backward, measured in its stage. */
  moduleSeconds: number[];
  /** Seconds each stage spent on its steps (the rest of the epoch it waited): a pipeline's balance and stalls. */
  stageBusySeconds: number[];
  /** Wall-clock seconds of the epoch, state hand-over included. */
  seconds: number;
}

/** The largest batch the modules are timed on for the first balance. */
const CALIBRATION_BATCH = 64;

const WORDS: PoolWords = {
  training: 'module-parallel training',
  className: 'ModuleParallelTrainer',
  member: 'a stage',
  name: (stage) => `stage ${stage}`,
  thread: 'its worker thread',
};

type StepMessage = Extract<FromStage, { type: 'step' }>;

export class ModuleParallelTrainer extends WorkerPool<FromStage, ToStage> {
  private readonly layout: ReturnType<typeof moduleLayout>;
  private readonly explicitSizes: boolean;
  private readonly rebalance: boolean;
  private readonly maxInFlight: number;
  private sizes: number[];
  /** Per step of the current epoch, each stage's report; emitted in step order once every stage's is in. */
  private readonly reports = new Map<number, (StepMessage | undefined)[]>();
  private secondsSum: number[] = [];
  private busySum: number[] = [];
  private calibration: number[] = [];

  private constructor(
    private readonly state: TrainingState & { trainer: LocalTrainer },
    private readonly method: TrainableMethod,
    backend: BackendId,
    options: ModuleParallelOptions,
  ) {
    super(WORDS);
    const { model, trainer, sgd } = state;
    const stages = options.stages;
    const modules = trainer.modules.length;
    this.sizes = options.stageModules ? checkStageModules(options.stageModules, modules) : balanceStages(new Array<number>(modules).fill(1), stages);
    if (this.sizes.length !== stages) throw new RangeError(`stageModules has ${this.sizes.length} entries for ${stages} stages`);
    this.explicitSizes = options.stageModules !== undefined;
    this.rebalance = options.rebalance === true;
    this.maxInFlight = options.maxInFlight ?? stages + 1;
    if (!(Number.isInteger(this.maxInFlight) && this.maxInFlight >= 1)) throw new RangeError(`maxInFlight must be a whole number >= 1, got ${this.maxInFlight}`);
    this.layout = moduleLayout(trainer);
    const file = workerScript('stage-worker');
    const channels = Array.from({ length: stages - 1 }, () => new MessageChannel());
    for (let s = 0; s < stages; s++) {
      const prev = s > 0 ? channels[s - 1]!.port2 : null;
      const next = s < stages - 1 ? channels[s]!.port1 : null;
      const init: StageInit = {
        stage: s,
        stages,
        backend,
        model: { depth: model.depth, input: { ...model.input }, classes: model.classes, seed: model.seed },
        trainer: trainer.settings,
        sgd: { momentum: sgd.momentum, weightDecay: sgd.weightDecay, nesterov: sgd.nesterov, dampening: sgd.dampening },
        prev,
        next,
        ...(options.fault ? { fault: options.fault } : {}),
      };
      this.spawn(s, file, { workerData: init, transferList: [prev, next].filter((p): p is MessagePort => p !== null) });
    }
  }

  /**
   * Start `options.stages` stage workers for the run whose in-thread state is `state` (its
   * trainer must be a LocalTrainer of config.method) and balance the modules over them.
   * Throws, with the reason, for methods whose modules are coupled.
   */
  static async create(state: TrainingState, config: Pick<TrainConfig, 'method' | 'batchSize' | 'backend'>, options: ModuleParallelOptions): Promise<ModuleParallelTrainer> {
    const refusal = moduleParallelRefusal(config.method);
    if (refusal) throw new Error(refusal);
    const { trainer } = state;
    if (!(trainer instanceof LocalTrainer) || trainer.settings.method !== config.method) {
      throw new Error(`module-parallel training needs the run's LocalTrainer for ${config.method}, got ${trainer instanceof LocalTrainer ? `one for ${trainer.settings.method}` : trainer.constructor.name}`);
    }
    const stages = options.stages;
    if (!(Number.isInteger(stages) && stages >= 1 && stages <= trainer.modules.length)) {
      throw new RangeError(`${trainer.modules.length} modules cannot fill ${stages} pipeline stages: use 1 to ${trainer.modules.length} stages (or a split with more modules)`);
    }
    const parallel = new ModuleParallelTrainer(state as TrainingState & { trainer: LocalTrainer }, config.method, options.backend ?? config.backend ?? activeBackend(WORDS.training), options);
    await parallel.startOrShutdown(async () => {
      if (parallel.explicitSizes || stages === 1) return;
      // One thread times them all, one after another: no stage competes with another for a core.
      // At most batch 64: the costs scale with the batch alike, and 3 runs of a big batch would take long.
      const batchSize = Math.min(config.batchSize, CALIBRATION_BATCH);
      const [reply] = await parallel.request('calibrated', (s) => (s === 0 ? { type: 'calibrate', modules: trainer.modules.map((_, i) => i), batchSize } : null));
      parallel.calibration = reply!.seconds;
      parallel.sizes = balanceStages(reply!.seconds, stages);
    });
    return parallel;
  }

  /** Seconds per module the stages were balanced by when created (empty with explicit stageModules or one stage). */
  get moduleCosts(): number[] {
    return [...this.calibration];
  }

  /** Modules per stage the next epoch trains with. */
  get stageModules(): number[] {
    return [...this.sizes];
  }

  /** Regroup the modules (per stage, in order, summing to K) from the next epoch on: every worker holds the whole network. */
  setStageModules(sizes: readonly number[]): void {
    const checked = checkStageModules(sizes, this.state.trainer.modules.length);
    if (checked.length !== this.handles.length) throw new RangeError(`stage module counts [${sizes.join(', ')}] name ${checked.length} stages; this trainer has ${this.handles.length}`);
    this.sizes = checked;
  }

  /**
   * Train on every batch of `batches` (the batches' arrays are transferred to the stages: do not
   * use them afterwards). Steps are numbered from 0 within the call: learningRateAt(step) gives
   * each step's rate, and onStep(step, losses) gets each step's loss per module in module order,
   * in step order. It first sends the in-thread state (model, auxiliary nets, momentum) to the
   * stages and, when it resolves, that state holds the trained values and the optimiser's step
   * count has advanced by the steps. A stage's failure rejects it with the stage's message and
   * ends every stage; the trainer is then closed.
   */
  async trainEpoch(batches: AsyncIterable<HostBatch>, learningRateAt: (step: number) => number, onStep: (step: number, losses: number[]) => void): Promise<EpochReport> {
    return this.guardEpoch(() => this.epoch(batches, learningRateAt, onStep));
  }

  private async epoch(batches: AsyncIterable<HostBatch>, learningRateAt: (step: number) => number, onStep: (step: number, losses: number[]) => void): Promise<EpochReport> {
    const started = performance.now();
    const ranges = stageRanges(this.sizes);
    const sizes = [...this.sizes];
    const { trainer, sgd } = this.state;
    const modules = trainer.modules.length;
    await this.sendState(ranges);
    this.reports.clear();
    this.secondsSum = new Array<number>(modules).fill(0);
    this.busySum = new Array<number>(this.handles.length).fill(0);
    // Only InfoPro's decoders read the images after the first module.
    const needsImages = ranges.map(([first], s) => s === 0 || (this.method === 'infopro' && first < modules - 1));
    const { steps, lr } = await this.feed(batches, learningRateAt, onStep, this.maxInFlight, (step, rate, batch) => {
      const { height, width, channels } = batch.shape;
      const shape: [number, number, number, number] = [batch.size, height, width, channels];
      // The first stage takes the batch's own arrays; the others get copies.
      for (let s = this.handles.length - 1; s >= 0; s--) {
        const x = s === 0 ? batch.x : needsImages[s] ? batch.x.slice() : null;
        const y = s === 0 ? batch.y : batch.y.slice();
        this.post(s, { type: 'batch', step, lr: rate, shape, x, y }, buffersOf(x, y));
      }
    });
    await this.collectState(ranges, steps);
    if (lr !== null) sgd.setLearningRate(lr);
    const moduleSeconds = this.secondsSum.map((total) => (steps > 0 ? total / steps : 0));
    if (this.rebalance && steps > 0) this.sizes = balanceStages(moduleSeconds, this.handles.length);
    return { steps, stageModules: sizes, moduleSeconds, stageBusySeconds: [...this.busySum], seconds: (performance.now() - started) / 1000 };
  }

  /** Each stage gets its modules and their variables' values and momentum buffers. */
  private async sendState(ranges: [number, number][]): Promise<void> {
    const { variables, offsets } = this.layout;
    const sgd = this.state.sgd.getState(variables);
    const values = await readValues(variables);
    const starts = [0];
    for (const v of variables) starts.push(starts.at(-1)! + v.size);
    ranges.forEach(([first, last], s) => {
      const [from, to] = [offsets[first]!, offsets[last + 1]!];
      const state: WireState = {
        values: values.slice(starts[from]!, starts[to]!),
        sgd: {
          step: sgd.step,
          buffers: sgd.buffers.filter((b) => b.index! >= from && b.index! < to).map((b) => ({ index: b.index! - from, values: new Float32Array(b.values) })),
        },
      };
      this.post(s, { type: 'epoch', first, last, ...state }, buffersOf(state.values, ...state.sgd.buffers.map((b) => b.values)));
    });
  }

  /** The stages' trained variables and momentum buffers into the in-thread state. */
  private async collectState(ranges: [number, number][], steps: number): Promise<void> {
    const { variables, offsets } = this.layout;
    const replies = await this.request('state', () => ({ type: 'collect' }));
    const expected = this.state.sgd.stepCount + steps;
    const buffers = replies.flatMap((reply, s) => {
      const [first, last] = ranges[s]!;
      const from = offsets[first]!;
      if (reply.sgd.step !== expected) throw new Error(`stage ${s} reports optimiser step ${reply.sgd.step}, expected ${expected}`);
      writeValues(variables.slice(from, offsets[last + 1]!), reply.values);
      return reply.sgd.buffers.map(({ index, values }) => {
        const variable = variables[from + index]!;
        return { name: variable.name, index: from + index, shape: [...variable.shape], values };
      });
    });
    this.state.sgd.setState({ step: expected, buffers }, variables);
  }

  protected stepDone(stage: number, message: StepMessage): void {
    const stages = this.handles.length;
    const reports = this.reports.get(message.step) ?? new Array<StepMessage | undefined>(stages).fill(undefined);
    reports[stage] = message;
    this.reports.set(message.step, reports);
    this.report((step) => {
      const done = this.reports.get(step);
      if (!done || done.some((r) => r === undefined)) return undefined;
      this.reports.delete(step);
      done.flatMap((r) => r!.seconds).forEach((seconds, i) => (this.secondsSum[i]! += seconds));
      done.forEach((r, s) => (this.busySum[s]! += r!.busy));
      return done.flatMap((r) => r!.losses);
    });
  }
}
