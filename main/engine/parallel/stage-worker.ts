/**
 * One stage of module-parallel training, in its own worker thread (bundled into
 * dist/main/stage-worker.cjs by scripts/workers.mjs): it starts the coordinator's backend, builds
 * the same ResNet and LocalTrainer from the same settings and seed, and then trains only the
 * modules it is given, epoch by epoch. For each step it takes the batch (from the coordinator)
 * and its input (from the previous stage), runs its modules' forward and local backward,
 * transfers its output to the next stage, and applies its own SGD update with the step's
 * learning rate: the sequential trainer's arithmetic, shifted in time (./module-parallel-trainer.ts).
 */
import '@tensorflow/tfjs-layers'; // registers the gradients of every op (tfjs-core alone lacks some)
import * as tf from '@tensorflow/tfjs-core';
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from '../backend/select';
import { createResNet } from '../nets/resnet-model';
import { LocalTrainer } from '../train/local-trainer';
import { SgdNesterov } from '../train/sgd';
import { lossValues } from '../train/trainer';
import { runDataParallelWorker } from './data-parallel-worker';
import { type Activation, DATA_PARALLEL_ROLE, type FromStage, type StageInit, type ToStage } from './protocol';
import { buffersOf, ownedArray, readValues, sgdFromWire, sgdToWire, stageVariables, writeValues } from './stage-state';

type BatchMessage = Extract<ToStage, { type: 'batch' }>;

const port = parentPort!;
const init = workerData as StageInit;
const post = (message: FromStage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

function report(error: unknown): void {
  const e = error instanceof Error ? error : new Error(String(error));
  post({ type: 'error', message: e.message, ...(e.stack ? { stack: e.stack } : {}) });
}

/** A tensor's values as an array this thread may transfer away. */
async function transferable(t: tf.Tensor): Promise<Float32Array> {
  const data = (await t.data()) as Float32Array;
  // wasm reads a fresh copy out of its heap; the CPU backend hands out the tensor's own array.
  return tf.getBackend() === 'wasm' ? ownedArray(data) : data.slice();
}

class Stage {
  private first = 0;
  private last = -1;
  private variables: tf.Variable[] = [];
  private next = 0;
  private busy = false;
  private readonly batches = new Map<number, BatchMessage>();
  private readonly inputs = new Map<number, Activation>();

  constructor(
    private readonly trainer: LocalTrainer,
    private readonly sgd: SgdNesterov,
    private readonly images: { height: number; width: number; channels: number },
    private readonly classes: number,
  ) {}

  async handle(message: ToStage): Promise<void> {
    switch (message.type) {
      case 'calibrate':
        post({ type: 'calibrated', seconds: await this.calibrate(message.modules, message.batchSize) });
        return;
      case 'epoch':
        this.first = message.first;
        this.last = message.last;
        this.variables = stageVariables(this.trainer, this.first, this.last);
        writeValues(this.variables, message.values);
        sgdFromWire(this.sgd, message.sgd, this.variables);
        this.next = 0;
        return;
      case 'batch':
        this.batches.set(message.step, message);
        return this.pump();
      case 'collect': {
        const values = await readValues(this.variables);
        const sgd = sgdToWire(this.sgd, this.variables);
        post({ type: 'state', values, sgd }, buffersOf(values, ...sgd.buffers.map((b) => b.values)));
        return;
      }
    }
  }

  input(activation: Activation): Promise<void> {
    this.inputs.set(activation.step, activation);
    return this.pump();
  }

  /** Run every step whose batch and input are both here, in order. */
  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (;;) {
        const batch = this.batches.get(this.next);
        const input = init.prev ? this.inputs.get(this.next) : undefined;
        if (!batch || (init.prev && !input)) break;
        this.batches.delete(this.next);
        this.inputs.delete(this.next);
        await this.step(batch, input);
        this.next++;
      }
    } finally {
      this.busy = false;
    }
  }

  private async step(batch: BatchMessage, input: Activation | undefined): Promise<void> {
    const { fault } = init;
    if (fault && fault.stage === init.stage && fault.step === batch.step) {
      if (fault.kind === 'exit') process.exit(3);
      throw new Error(`injected fault at step ${batch.step} (test only)`);
    }
    const started = performance.now();
    const x = batch.x ? tf.tensor4d(batch.x, batch.shape) : null;
    const y = tf.tensor1d(batch.y, 'int32');
    const h0 = input ? tf.tensor4d(input.h, input.shape) : x!;
    // Only InfoPro's decoder reads the images; the other heads ignore them (and get none).
    const images = x ?? h0;
    const grads = new Map<tf.Variable, tf.Tensor>();
    const losses: tf.Scalar[] = [];
    const seconds: number[] = [];
    let h = h0;
    try {
      for (let i = this.first; i <= this.last; i++) {
        const moduleStarted = performance.now();
        const { loss, output } = this.trainer.moduleGradients(i, h, images, y, grads);
        seconds.push((performance.now() - moduleStarted) / 1000);
        losses.push(loss);
        if (h !== h0) h.dispose();
        if (output) h = output;
      }
      if (init.next) {
        // The next stage starts on this batch while this one applies its update.
        const out = await transferable(h);
        const activation: Activation = { step: batch.step, shape: h.shape as Activation['shape'], h: out };
        init.next.postMessage(activation, [out.buffer as ArrayBuffer]);
      }
      this.sgd.setLearningRate(batch.lr);
      this.sgd.step(grads);
    } finally {
      if (h !== h0) h.dispose();
      tf.dispose([...grads.values(), y, ...(x ? [x] : []), ...(h0 !== x ? [h0] : [])]);
    }
    const values = await lossValues(losses);
    post({ type: 'step', step: batch.step, losses: values, seconds, busy: (performance.now() - started) / 1000 });
  }

  /** Seconds of one step of each module on random data of the run's batch size: the fastest of 2 runs after a warm-up. */
  private async calibrate(modules: readonly number[], batchSize: number): Promise<number[]> {
    const { height, width, channels } = this.images;
    const x = tf.randomNormal([batchSize, height, width, channels], 0, 1, 'float32', 1) as tf.Tensor4D;
    const y = tf.tensor1d(Array.from({ length: batchSize }, (_, i) => i % this.classes), 'int32');
    const seconds: number[] = [];
    for (const i of modules) {
      const shape = i === 0 ? [height, width, channels] : this.trainer.modules[i - 1]!.units.at(-1)!.unit.output;
      const h = i === 0 ? x : (tf.randomNormal([batchSize, shape[0]!, shape[1]!, shape[2]!], 0, 1, 'float32', 2) as tf.Tensor4D);
      let time = Infinity;
      for (let run = 0; run < 3; run++) {
        const grads = new Map<tf.Variable, tf.Tensor>();
        const started = performance.now();
        const { loss, output } = this.trainer.moduleGradients(i, h, x, y, grads);
        await loss.data();
        if (run > 0) time = Math.min(time, (performance.now() - started) / 1000);
        tf.dispose([loss, ...grads.values(), ...(output ? [output] : [])]);
      }
      seconds.push(time);
      if (h !== x) h.dispose();
    }
    tf.dispose([x, y]);
    return seconds;
  }
}

async function main(): Promise<void> {
  await selectBackend(init.backend);
  const { depth, input, classes, seed } = init.model;
  const model = createResNet(depth, input, classes, seed);
  const trainer = new LocalTrainer({ model, ...init.trainer });
  const sgd = new SgdNesterov({ lr: 0, ...init.sgd });
  const stage = new Stage(trainer, sgd, input, classes);
  // One message at a time, in arrival order: a step never overlaps an epoch's state change.
  let queue = Promise.resolve();
  let failed = false;
  const enqueue = (work: () => Promise<void>) => {
    queue = queue
      .then(() => (failed ? undefined : work()))
      .catch((error: unknown) => {
        // Nothing can continue after a failed step: the coordinator ends every stage.
        failed = true;
        report(error);
      });
  };
  port.on('message', (message: ToStage) => enqueue(() => stage.handle(message)));
  init.prev?.on('message', (activation: Activation) => enqueue(() => stage.input(activation)));
  post({ type: 'ready' });
}

// The same bundle starts data-parallel workers (./data-parallel-worker.ts): one worker file, one backend setup.
if ((workerData as { role?: string }).role === DATA_PARALLEL_ROLE) runDataParallelWorker();
else main().catch(report);
