/**
 * GPU check (not a test: the project's machines have no GPU). On a machine with one, for each GPU
 * backend that starts there (CUDA through @tensorflow/tfjs-node-gpu, WebGPU through Dawn on a
 * hardware adapter), it checks one ResNet-20 training step's gradients against the cpu backend,
 * then trains one epoch of ResNet-20 end-to-end on the built-in MNIST (8,000 digits, batch 128)
 * and prints its img/s next to PyTorch CUDA on the same net and batch (bench/speed/torch_step.py)
 * where PyTorch with CUDA is importable. Without a GPU backend it says why each is absent and
 * exits 0.
 *
 *   npm run check:gpu [-- --python /usr/bin/python3 --batch 128 --train-limit 8000]
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { iterateBatches } from '../main/data/batches';
import { openMnist } from '../main/data/mnist';
import { PREPROCESSING } from '../main/data/preprocess';
import { selectBackend } from '../main/engine/backend/select';
import { probeWebGpu } from '../main/engine/backend/webgpu-setup';
import { createResNet } from '../main/engine/nets/resnet-model';
import { LocalTrainer } from '../main/engine/train/local-trainer';
import { SgdNesterov } from '../main/engine/train/sgd';
import { lossValues } from '../main/engine/train/trainer';
import type { BackendId } from '../shared/ids';
import { digits, MNIST_INPUT } from '../test/helpers/digits';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const DEPTH = 20;
const BATCH = Number(arg('--batch') ?? 128);
const TRAIN_LIMIT = Number(arg('--train-limit') ?? 8000);
const PYTHON = arg('--python') ?? '/usr/bin/python3';

type GpuBackend = Extract<BackendId, 'tensorflow-gpu' | 'webgpu'>;

/** Start `id` and make sure it computes on a GPU; the reason when it does not. */
async function startGpu(id: GpuBackend): Promise<string | null> {
  if (id === 'webgpu') {
    // Dawn on a machine without a GPU offers only a software rasteriser: that is no GPU.
    let adapter;
    try {
      adapter = probeWebGpu(require.resolve('webgpu'));
    } catch (error) {
      return `webgpu is not installed or cannot start (${(error as Error).message.split('\n')[0]})`;
    }
    if (!adapter) return 'Dawn found no GPU adapter';
    if (adapter.software) return `Dawn found only a software adapter (${adapter.description})`;
  }
  try {
    await selectBackend(id);
  } catch (error) {
    return (error as Error).message;
  }
  if (id === 'tensorflow-gpu' && !(tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice) return 'libtensorflow loaded but found no CUDA device';
  return null;
}

/** One ResNet-20 end-to-end step's gradients (8 real digits) on the active backend, in variable order. */
async function stepGradients(): Promise<Float32Array[]> {
  const { x, y } = await digits(8);
  const model = createResNet(DEPTH, MNIST_INPUT, 10, 2);
  const trainer = new LocalTrainer({ model, method: 'e2e', cuts: [], normalization: PREPROCESSING.mnist.normalization, seed: 2 });
  const { grads, losses } = trainer.computeGradients(x, y);
  const out: Float32Array[] = [];
  for (const v of trainer.trainableVariables()) out.push(Float32Array.from(await grads.get(v)!.data()));
  tf.dispose([...grads.values(), ...losses, x, y]);
  trainer.dispose();
  model.dispose();
  return out;
}

/** Largest |a - b| / max(1, |b|) over every gradient. */
const relativeError = (a: Float32Array[], b: Float32Array[]): number =>
  a.reduce((worst, g, i) => g.reduce((w, v, j) => Math.max(w, Math.abs(v - b[i]![j]!) / Math.max(1, Math.abs(b[i]![j]!))), worst), 0);

/** One epoch of ResNet-20 end-to-end on the active backend: images per second of the training steps. */
async function trainEpoch(): Promise<{ imagesPerSecond: number; steps: number; lastLoss: number }> {
  const model = createResNet(DEPTH, MNIST_INPUT, 10, 0);
  const trainer = new LocalTrainer({ model, method: 'e2e', cuts: [], normalization: PREPROCESSING.mnist.normalization, seed: 0 });
  const sgd = new SgdNesterov({ lr: 0.05 });
  let images = 0;
  let steps = 0;
  let lastLoss = NaN;
  let seconds = 0;
  for await (const batch of iterateBatches(openMnist(), 'train', { batchSize: BATCH, shuffle: true, seed: 0, epoch: 1, augment: true, limit: TRAIN_LIMIT })) {
    const x = tf.tensor4d(batch.x, [batch.size, 28, 28, 1]);
    const y = tf.tensor1d(batch.y, 'int32');
    const started = performance.now();
    // Reading the loss waits for the GPU: the step is timed done, not queued.
    lastLoss = (await lossValues(trainer.step(x, y, sgd)))[0]!;
    // The first step compiles kernels (WebGPU pipelines, cuDNN plans): left out of the rate.
    if (steps > 0) {
      seconds += (performance.now() - started) / 1000;
      images += batch.size;
    }
    steps++;
    tf.dispose([x, y]);
  }
  sgd.dispose();
  trainer.dispose();
  model.dispose();
  return { imagesPerSecond: images / seconds, steps, lastLoss };
}

/** PyTorch CUDA's img/s on the same net and batch, or why there is none. */
function torchCuda(): { imagesPerSecond: number } | { missing: string } {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 3)'], { encoding: 'utf8' });
  if (probe.error) return { missing: `${PYTHON}: ${probe.error.message}` };
  if (probe.status === 3) return { missing: 'PyTorch is installed but sees no CUDA device' };
  if (probe.status !== 0) return { missing: 'PyTorch is not importable (apt-get install -y python3-torch, or a CUDA build from pip)' };
  const script = path.resolve('bench/speed/torch_step.py');
  const run = spawnSync(PYTHON, [script, '--device', 'cuda', '--depth', String(DEPTH), '--height', '28', '--width', '28', '--channels', '1', '--batch', String(BATCH)], { encoding: 'utf8' });
  if (run.status !== 0) return { missing: `torch_step.py failed: ${run.stderr.trim().split('\n').pop()}` };
  return { imagesPerSecond: (JSON.parse(run.stdout.trim().split('\n').pop()!) as { medianImagesPerSecond: number }).medianImagesPerSecond };
}

async function main(): Promise<void> {
  const absent: string[] = [];
  const present: GpuBackend[] = [];
  for (const id of ['tensorflow-gpu', 'webgpu'] as const) {
    const reason = await startGpu(id);
    if (reason) absent.push(`  ${id}: ${reason}`);
    else present.push(id);
  }
  if (present.length === 0) {
    console.log(`No GPU backend is present on this machine, so there is nothing to check:\n${absent.join('\n')}`);
    return;
  }
  await selectBackend('cpu');
  const reference = await stepGradients();
  const torch = torchCuda();
  console.log(`ResNet-${DEPTH}, MNIST ${TRAIN_LIMIT} digits, batch ${BATCH}, one epoch end-to-end`);
  if (absent.length) console.log(`Not checked:\n${absent.join('\n')}`);
  for (const id of present) {
    await selectBackend(id);
    const error = relativeError(await stepGradients(), reference);
    const epoch = await trainEpoch();
    const versus = 'imagesPerSecond' in torch ? `PyTorch CUDA ${torch.imagesPerSecond.toFixed(0)} img/s (median step), ratio ${(epoch.imagesPerSecond / torch.imagesPerSecond).toFixed(2)}x` : `PyTorch CUDA: ${torch.missing}`;
    console.log(`${id.padEnd(15)} gradients vs cpu: max relative error ${error.toExponential(2)} ${error <= 1e-3 ? 'ok' : 'TOO LARGE'} | ${epoch.imagesPerSecond.toFixed(0)} img/s over ${epoch.steps} steps (last loss ${epoch.lastLoss.toFixed(3)}) | ${versus}`);
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  },
);
