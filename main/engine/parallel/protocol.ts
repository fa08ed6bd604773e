/**
 * The messages of module-parallel training (./module-parallel-trainer.ts): the coordinator
 * talks to each stage worker (./stage-worker.ts) over the worker's own channel, and each stage
 * hands its output to the next stage over a MessagePort of their own, so activations never pass
 * through the coordinator. Every Float32Array/Int32Array below travels in the transfer list
 * (moved, not copied). Steps are numbered 0, 1, ... within an epoch.
 */
import type { MessagePort } from 'node:worker_threads';
import type { BackendId } from '../../../shared/ids';
import type { InputShape } from '../../../shared/engine/resnet';
import type { CreateTrainerOptions } from '../train/create-trainer';
import type { LocalTrainerSettings } from '../train/local-trainer';
import type { AllReduceBuffers } from './data-parallel-allreduce';

/** Test only: make one stage fail at one step, by throwing or by ending its thread. */
export interface StageFault {
  stage: number;
  step: number;
  kind: 'throw' | 'exit';
}

/** What a stage worker is started with (workerData): enough to build the coordinator's model and trainer again. */
export interface StageInit {
  stage: number;
  stages: number;
  backend: BackendId;
  model: { depth: number; input: InputShape; classes: number; seed: number };
  trainer: LocalTrainerSettings;
  sgd: { momentum: number; weightDecay: number; nesterov: boolean; dampening: number };
  /** Where the previous stage's outputs arrive (null for the first stage). */
  prev: MessagePort | null;
  /** Where this stage's outputs go (null for the last stage). */
  next: MessagePort | null;
  fault?: StageFault;
}

/** Momentum buffers of a stage's variables; `index` is the position in the stage's variable list (./stage-state.ts). */
export interface WireSgd {
  step: number;
  buffers: { index: number; values: Float32Array }[];
}

/** Values of a stage's variables, concatenated in the stage's variable order, with its optimiser state. */
export interface WireState {
  values: Float32Array;
  sgd: WireSgd;
}

export type ToStage =
  /** Time one step of each of `modules` (warm-up first) on synthetic data: the first balance. */
  | { type: 'calibrate'; modules: number[]; batchSize: number }
  /** Train modules first..last from this state for the next epoch. */
  | ({ type: 'epoch'; first: number; last: number } & WireState)
  /** One batch: every stage gets the labels and learning rate; the first stage and InfoPro's decoders the images. */
  | { type: 'batch'; step: number; lr: number; shape: [number, number, number, number]; x: Float32Array | null; y: Int32Array }
  /** Send back the stage's variables and optimiser state (after the epoch's last step). */
  | { type: 'collect' };

export type FromStage =
  | { type: 'ready' }
  | { type: 'calibrated'; seconds: number[] }
  /** Step done: the stage's module losses and each module's seconds, in module order, and the whole step's seconds. */
  | { type: 'step'; step: number; losses: number[]; seconds: number[]; busy: number }
  | ({ type: 'state' } & WireState)
  | { type: 'error'; message: string; stack?: string };

/** A stage's output, to the next stage. */
export interface Activation {
  step: number;
  shape: [number, number, number, number];
  h: Float32Array;
}

/**
 * Data-parallel training (./data-parallel-trainer.ts): each worker holds the whole training
 * state and trains on its shard of every batch; gradients meet in shared memory
 * (./data-parallel-allreduce.ts), not in these messages. Workers are started from the stage
 * worker's bundle, told apart by `role`.
 */
export const DATA_PARALLEL_ROLE = 'data-parallel';

export interface DataWorkerInit {
  role: typeof DATA_PARALLEL_ROLE;
  rank: number;
  backend: BackendId;
  model: { depth: number; input: InputShape; classes: number; seed: number };
  /** Everything createTrainer takes besides the model (../train/create-trainer.ts): plain data. */
  trainer: Omit<CreateTrainerOptions, 'model'>;
  sgd: { momentum: number; weightDecay: number; nesterov: boolean; dampening: number };
  buffers: AllReduceBuffers;
  /** Test only: make this worker throw at one step, before the all-reduce (the others wait there). */
  faultAtStep?: number;
}

export type ToDataWorker =
  /** The whole training state (values in ./data-parallel-trainer.ts's variable order) to train the next epoch from. */
  | ({ type: 'epoch' } & WireState)
  /** This worker's shard of one batch (null arrays: an empty shard) and every worker's shard size. */
  | { type: 'batch'; step: number; lr: number; sizes: number[]; shape: [number, number, number, number]; x: Float32Array | null; y: Int32Array | null }
  /** The state's checksum, and with `values` the state itself. */
  | { type: 'collect'; values: boolean };

export type FromDataWorker =
  | { type: 'ready' }
  /** Step done: the shard's loss per module (empty for an empty shard) and the step's seconds. */
  | { type: 'step'; step: number; losses: number[]; seconds: number }
  | ({ type: 'state'; checksum: number } & Partial<WireState>)
  | { type: 'error'; message: string; stack?: string };
