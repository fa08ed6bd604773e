/**
 * Data-parallel scaling (main/engine/parallel/data-parallel-trainer.ts): training images per
 * second of ResNet-8 and ResNet-20 end-to-end on real MNIST digits (28x28x1, batch 64, wasm),
 * on 1 thread (the plain in-thread step a run with workers = 1 takes) and on 2 data-parallel
 * workers, side by side with PyTorch CPU on the same net and batch at 1 and 2 threads
 * (bench/speed/torch_step.py) where PyTorch is importable. The engine's figure is the wall clock
 * of whole epochs of `steps` steps (the data-parallel one includes handing the state to the
 * workers and back), the fastest of `rounds`; PyTorch's is its median step.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { type HostBatch, iterateBatches } from '../../main/data/batches';
import { openMnist } from '../../main/data/mnist';
import { PREPROCESSING } from '../../main/data/preprocess';
import { selectBackend } from '../../main/engine/backend/select';
import { createResNet } from '../../main/engine/nets/resnet-model';
import { DataParallelTrainer } from '../../main/engine/parallel/data-parallel-trainer';
import type { TrainingState } from '../../main/engine/train/checkpoint';
import { createTrainer } from '../../main/engine/train/create-trainer';
import { SgdNesterov } from '../../main/engine/train/sgd';
import { lossValues } from '../../main/engine/train/trainer';
import { TORCH_HINT, torchAvailable } from './wasm-vs-torch';

export interface DataParallelBenchOptions {
  /** ResNet depths; default [8, 20]. */
  depths?: number[];
  /** Timed steps per epoch; default 30. */
  steps?: number;
  batch?: number;
  /** Timed epochs per configuration, round-robin; the fastest counts. Default 2. */
  rounds?: number;
  /** Worker counts besides 1; default [2]. */
  workers?: number[];
  torch?: boolean;
  python?: string;
  log?: (line: string) => void;
}

export interface ScalingRow {
  net: string;
  /** 1: the in-thread step; more: data-parallel workers (and PyTorch's thread count). */
  threads: number;
  imagesPerSecond: number;
  /** This row's img/s / the same net's 1-thread img/s. */
  scaling: number;
  torchImagesPerSecond: number | null;
  torchScaling: number | null;
  /** Engine / PyTorch at the same thread count. */
  ratio: number | null;
  /**
   * The machine's own ceiling: `threads` independent 1-thread runs at once (separate processes,
   * nothing shared), their img/s summed / one run's alone. Data-parallel scaling can reach this
   * at best; where it is well under `threads`, the cores share something (a physical core, the
   * memory bus) and no engine gets more.
   */
  ceiling: number;
}

/** `copies` 1-thread runs as separate processes at once (bench/speed/solo-step.ts): the sum of their median epoch img/s. */
async function soloRunsAtOnce(depth: number, steps: number, batch: number, copies: number): Promise<number> {
  const one = () =>
    new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, ['scripts/run-ts.mjs', 'bench/speed/solo-step.ts', '--depth', String(depth), '--steps', String(steps), '--batch', String(batch), '--epochs', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code !== 0) return reject(new Error(`solo-step.ts failed (exit ${code}): ${err.slice(-500)}`));
        const epochs = (JSON.parse(out.trim().split('\n').pop()!) as { imagesPerSecond: number[] }).imagesPerSecond.sort((a, b) => a - b);
        resolve(epochs[Math.floor(epochs.length / 2)]!);
      });
    });
  const each = await Promise.all(Array.from({ length: copies }, one));
  return each.reduce((a, b) => a + b, 0);
}

const INPUT = { height: 28, width: 28, channels: 1 };
const recipe = { method: 'e2e' as const, cuts: [], normalization: PREPROCESSING.mnist.normalization, seed: 0, settings: {} };

function build(depth: number): TrainingState {
  const model = createResNet(depth, INPUT, 10, 0);
  return { model, trainer: createTrainer({ model, ...recipe }), sgd: new SgdNesterov({ lr: 0.05 }) };
}

function dispose({ model, trainer, sgd }: TrainingState): void {
  sgd.dispose();
  trainer.dispose();
  model.dispose();
}

export async function digitBatches(count: number, batch: number): Promise<HostBatch[]> {
  const out: HostBatch[] = [];
  for await (const b of iterateBatches(openMnist(), 'train', { batchSize: batch, shuffle: true, seed: 1, epoch: 1, augment: false, limit: count * batch, dropLast: true })) out.push(b);
  return out;
}

async function* copies(batches: readonly HostBatch[]): AsyncGenerator<HostBatch> {
  for (const b of batches) yield { ...b, x: b.x.slice(), y: b.y.slice() };
}

/** A function that trains one epoch on `batches` and resolves with its seconds, and its clean-up. */
export async function trainerFor(depth: number, workers: number): Promise<{ epoch: (batches: readonly HostBatch[]) => Promise<number>; close: () => Promise<void> }> {
  const state = build(depth);
  if (workers === 1) {
    const epoch = async (batches: readonly HostBatch[]) => {
      const started = performance.now();
      for (const b of batches) {
        const x = tf.tensor4d(b.x, [b.size, INPUT.height, INPUT.width, INPUT.channels]);
        const y = tf.tensor1d(b.y, 'int32');
        await lossValues(state.trainer.step(x, y, state.sgd));
        tf.dispose([x, y]);
      }
      return (performance.now() - started) / 1000;
    };
    return { epoch, close: async () => dispose(state) };
  }
  const parallel = await DataParallelTrainer.create(state, recipe, { workers, backend: 'wasm' });
  const epoch = async (batches: readonly HostBatch[]) => {
    const started = performance.now();
    await parallel.trainEpoch(copies(batches), () => 0.05, () => {});
    return (performance.now() - started) / 1000;
  };
  return {
    epoch,
    close: async () => {
      await parallel.close();
      dispose(state);
    },
  };
}

function torchImagesPerSecond(python: string, depth: number, batch: number, threads: number): number {
  const script = path.resolve('bench/speed/torch_step.py');
  const args = [script, '--depth', String(depth), '--height', '28', '--width', '28', '--channels', '1', '--batch', String(batch), '--threads', String(threads)];
  const r = spawnSync(python, args, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) } });
  if (r.status !== 0) throw new Error(`torch_step.py failed (exit ${r.status}): ${r.stderr || r.error?.message}`);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { medianImagesPerSecond: number }).medianImagesPerSecond;
}

export async function dataParallelScaling(options: DataParallelBenchOptions = {}): Promise<ScalingRow[]> {
  const depths = options.depths ?? [8, 20];
  const steps = options.steps ?? 30;
  const batch = options.batch ?? 64;
  const rounds = options.rounds ?? 2;
  const counts = [1, ...(options.workers ?? [2])];
  const python = options.python ?? '/usr/bin/python3';
  const log = options.log ?? (() => {});
  const torch = options.torch === false ? { ok: false as const, reason: 'skipped' } : torchAvailable(python);
  if (!torch.ok && options.torch !== false) log(`${TORCH_HINT} (${python}: ${torch.reason}): the PyTorch columns stay empty`);
  await selectBackend('wasm');
  const batches = await digitBatches(steps, batch);
  const warmUp = batches.slice(0, 2);
  const rows: ScalingRow[] = [];
  for (const depth of depths) {
    const runners = [];
    for (const n of counts) {
      const runner = await trainerFor(depth, n);
      await runner.epoch(warmUp);
      runners.push(runner);
    }
    const best = counts.map(() => Infinity);
    try {
      for (let round = 0; round < rounds; round++) {
        for (const [i, runner] of runners.entries()) {
          const seconds = await runner.epoch(batches);
          log(`ResNet-${depth}, ${counts[i]} thread(s), round ${round + 1}: ${((steps * batch) / seconds).toFixed(1)} img/s`);
          best[i] = Math.min(best[i]!, seconds);
        }
      }
    } finally {
      for (const runner of runners) await runner.close();
    }
    const ips = best.map((seconds) => (steps * batch) / seconds);
    // The ceiling, measured the same way at every count (so the 1-run figure is its own baseline).
    const solo: number[] = [];
    for (const n of counts) solo.push(await soloRunsAtOnce(depth, steps, batch, n));
    log(`ResNet-${depth}, independent 1-thread runs at once: ${counts.map((n, i) => `${n}: ${solo[i]!.toFixed(1)} img/s`).join(', ')}`);
    const torchIps = counts.map((n) => (torch.ok ? torchImagesPerSecond(python, depth, batch, n) : null));
    counts.forEach((n, i) => {
      const t = torchIps[i]!;
      rows.push({
        net: `ResNet-${depth}`,
        threads: n,
        imagesPerSecond: ips[i]!,
        scaling: ips[i]! / ips[0]!,
        torchImagesPerSecond: t,
        torchScaling: t === null ? null : t / torchIps[0]!,
        ratio: t === null ? null : ips[i]! / t,
        ceiling: solo[i]! / solo[0]!,
      });
    });
  }
  return rows;
}

export function formatScalingRows(rows: ScalingRow[]): string {
  const lines = ['net         threads   engine img/s   scaling   PyTorch img/s   scaling   engine/PyTorch   ceiling (independent runs)'];
  const n = (v: number | null, digits: number, suffix = '') => (v === null ? 'n/a' : `${v.toFixed(digits)}${suffix}`);
  for (const r of rows) {
    lines.push(
      `${r.net.padEnd(12)}${String(r.threads).padStart(7)}${n(r.imagesPerSecond, 1).padStart(15)}${n(r.scaling, 2, 'x').padStart(10)}` +
        `${n(r.torchImagesPerSecond, 1).padStart(16)}${n(r.torchScaling, 2, 'x').padStart(10)}${n(r.ratio, 2, 'x').padStart(17)}${n(r.ceiling, 2, 'x').padStart(29)}`,
    );
  }
  return lines.join('\n');
}
