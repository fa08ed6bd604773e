/**
 * One worker of data-parallel training, in its own thread (started from the stage worker's
 * bundle with role 'data-parallel', ./stage-worker.ts): it starts the run's backend, builds the
 * same model and trainer from the same settings and seed, and for each batch computes its
 * shard's gradients, sums them with every other worker's through shared memory
 * (./data-parallel-allreduce.ts), sets the averaged BatchNorm statistics, and applies the
 * trainer's own update (MAN's EMA step, then SGD) with the summed gradients. Every worker reads
 * the same sums, so every worker ends each step with the same state.
 */
import '@tensorflow/tfjs-layers'; // registers the gradients of every op (tfjs-core alone lacks some)
import * as tf from '@tensorflow/tfjs-core';
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from '../backend/select';
import { createResNet } from '../nets/resnet-model';
import type { TrainingState } from '../train/checkpoint';
import { createTrainer } from '../train/create-trainer';
import { SgdNesterov } from '../train/sgd';
import { lossValues } from '../train/trainer';
import { AllReduce, stateChecksum } from './data-parallel-allreduce';
import { type DataParallelLayout, dataParallelLayout } from './data-parallel-layout';
import type { DataWorkerInit, FromDataWorker, ToDataWorker } from './protocol';
import { buffersOf, readValues, sgdFromWire, sgdToWire, writeValues } from './stage-state';

type BatchMessage = Extract<ToDataWorker, { type: 'batch' }>;

class DataWorker {
  constructor(
    private readonly state: TrainingState,
    private readonly layout: DataParallelLayout,
    private readonly reduce: AllReduce,
    private readonly faultAtStep?: number,
  ) {}

  async step(batch: BatchMessage): Promise<{ losses: number[]; seconds: number }> {
    if (batch.step === this.faultAtStep) throw new Error(`injected fault at step ${batch.step} (test only)`);
    const started = performance.now();
    const { trainer, sgd } = this.state;
    const { trainable, synced, gradientOffsets, syncedOffsets } = this.layout;
    const own = batch.sizes[this.reduce.rank]!;
    let losses: tf.Scalar[] = [];
    if (own > 0) {
      const x = tf.tensor4d(batch.x!, batch.shape);
      const y = tf.tensor1d(batch.y!, 'int32');
      try {
        const step = trainer.computeGradients(x, y);
        losses = step.losses;
        await this.writeRow(step.grads);
      } finally {
        tf.dispose([x, y]);
      }
    } else {
      this.reduce.flags.fill(0); // an empty shard has no gradients (its row is skipped)
    }
    // Both barriers even with an empty shard: the group moves in step.
    this.reduce.barrier();
    this.reduce.reduceOwnSlice(batch.sizes);
    this.reduce.barrier();
    const result = this.reduce.result;
    const grads = new Map<tf.Variable, tf.Tensor>();
    try {
      trainable.forEach((variable, i) => {
        if (!this.reduce.anyHas(i)) return; // as PyTorch: a parameter no loss reached is not updated
        const at = gradientOffsets[i]!;
        grads.set(variable, tf.tensor(result.slice(at, at + variable.size), variable.shape, 'float32'));
      });
      tf.tidy(() => synced.forEach((variable, i) => variable.assign(tf.tensor(result.slice(syncedOffsets[i]!, syncedOffsets[i]! + variable.size), variable.shape, variable.dtype))));
      sgd.setLearningRate(batch.lr);
      trainer.applyGradients(grads, sgd);
    } finally {
      tf.dispose([...grads.values()]);
    }
    return { losses: await lossValues(losses), seconds: (performance.now() - started) / 1000 };
  }

  /** This worker's gradients and statistics into its row of the shared memory, with which variables had a gradient. */
  private async writeRow(grads: Map<tf.Variable, tf.Tensor>): Promise<void> {
    const { trainable, synced, gradientOffsets, syncedOffsets } = this.layout;
    const { row, flags } = this.reduce;
    try {
      for (const [i, variable] of trainable.entries()) {
        const grad = grads.get(variable);
        flags[i] = grad ? 1 : 0;
        if (grad) row.set((await grad.data()) as Float32Array, gradientOffsets[i]!);
      }
    } finally {
      tf.dispose([...grads.values()]);
    }
    for (const [i, variable] of synced.entries()) row.set((await variable.data()) as Float32Array, syncedOffsets[i]!);
  }

  setState(values: Float32Array, wire: Parameters<typeof sgdFromWire>[1]): void {
    writeValues(this.layout.state, values);
    sgdFromWire(this.state.sgd, wire, this.layout.state);
  }

  async collect(withValues: boolean): Promise<{ message: Extract<FromDataWorker, { type: 'state' }>; transfer: ArrayBuffer[] }> {
    const values = await readValues(this.layout.state);
    const sgd = sgdToWire(this.state.sgd, this.layout.state);
    const checksum = stateChecksum(values, ...sgd.buffers.map((b) => b.values), new Float32Array([sgd.step]));
    if (!withValues) return { message: { type: 'state', checksum }, transfer: [] };
    return { message: { type: 'state', checksum, values, sgd }, transfer: buffersOf(values, ...sgd.buffers.map((b) => b.values)) };
  }
}

/** The worker's main: build the replica, then answer the coordinator's messages one at a time, in order. */
export function runDataParallelWorker(): void {
  const port = parentPort!;
  const init = workerData as DataWorkerInit;
  const post = (message: FromDataWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
  const report = (error: unknown) => {
    const e = error instanceof Error ? error : new Error(String(error));
    post({ type: 'error', message: e.message, ...(e.stack ? { stack: e.stack } : {}) });
  };
  const start = async (): Promise<DataWorker> => {
    await selectBackend(init.backend);
    const { depth, input, classes, seed } = init.model;
    const model = createResNet(depth, input, classes, seed);
    const trainer = createTrainer({ model, ...init.trainer });
    const state: TrainingState = { model, trainer, sgd: new SgdNesterov({ lr: 0, ...init.sgd }) };
    const layout = dataParallelLayout(state);
    if (layout.length !== init.buffers.length) throw new Error(`worker ${init.rank} lays out ${layout.length} values per step; the coordinator ${init.buffers.length}: they built different trainers`);
    return new DataWorker(state, layout, new AllReduce(init.buffers, init.rank), init.faultAtStep);
  };
  let failed = false;
  let queue: Promise<unknown> = start().then((worker) => {
    post({ type: 'ready' });
    return worker;
  });
  const handle = async (worker: DataWorker, message: ToDataWorker): Promise<void> => {
    switch (message.type) {
      case 'epoch':
        worker.setState(message.values, message.sgd);
        return;
      case 'batch': {
        const { losses, seconds } = await worker.step(message);
        post({ type: 'step', step: message.step, losses, seconds });
        return;
      }
      case 'collect': {
        const { message: reply, transfer } = await worker.collect(message.values);
        post(reply, transfer);
        return;
      }
    }
  };
  const ready = queue as Promise<DataWorker>;
  queue = queue.catch((error: unknown) => {
    failed = true;
    report(error);
  });
  port.on('message', (message: ToDataWorker) => {
    queue = queue
      .then(async () => (failed ? undefined : handle(await ready, message)))
      .catch((error: unknown) => {
        // Nothing can continue after a failed step: the coordinator ends every worker.
        failed = true;
        report(error);
      });
  });
}
