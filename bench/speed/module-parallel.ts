/**
 * Wall clock of one epoch (a fixed number of steps) of local training run module-parallel on
 * worker threads (main/engine/parallel/) against the same training run sequentially in one
 * thread, and against end-to-end, measured side by side in one run: ResNet-8 on real MNIST
 * digits, and optionally ResNet-20/32 on 32x32x3 (random images: speed only), on wasm.
 * Every configuration gets the same batches, prepared before the clock starts, and a few
 * untimed warm-up steps (the parallel one: a warm-up epoch, which also measures the modules for
 * balancing). The parallel epoch's time includes handing the state to the stages and back.
 * The configurations' epochs are timed round-robin and the fastest of each counts: the 2 cores
 * are shared with other work, and a parallel run, needing both, suffers most from it.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { type HostBatch, iterateBatches } from '../../main/data/batches';
import { openMnist } from '../../main/data/mnist';
import type { ImageShape } from '../../main/data/types';
import { PREPROCESSING } from '../../main/data/preprocess';
import { selectBackend } from '../../main/engine/backend/select';
import { createResNet } from '../../main/engine/nets/resnet-model';
import { ModuleParallelTrainer } from '../../main/engine/parallel/module-parallel-trainer';
import { type BaseMethod, LocalTrainer } from '../../main/engine/train/local-trainer';
import { SgdNesterov } from '../../main/engine/train/sgd';
import { lossValues } from '../../main/engine/train/trainer';
import { splitPresets } from '../../shared/engine/splits';

export type ParallelNet = 'mnist-resnet8' | 'cifar-resnet20' | 'cifar-resnet32';

export interface ModuleParallelBenchOptions {
  /** Nets to measure; default ['mnist-resnet8']. */
  nets?: ParallelNet[];
  /** Timed steps per epoch; default 40. */
  steps?: number;
  /** Untimed steps before (the parallel run: a warm-up epoch of this many); default 3. */
  warmUp?: number;
  batch?: number;
  /** Local methods; default ['infopro', 'dgl']. */
  methods?: ('greedy' | 'dgl' | 'infopro')[];
  /** Split preset id of every net; default 'k4'. */
  split?: string;
  /** Pipeline stage counts to measure; default [2]. */
  stages?: number[];
  /** Timed epochs of every configuration, taken round-robin; the fastest counts. Default 2. */
  rounds?: number;
  log?: (line: string) => void;
}

export interface Row {
  net: ParallelNet;
  method: BaseMethod;
  /** 'e2e' and 'sequential' run in this thread; 'parallel' on `stages` workers. */
  mode: 'e2e' | 'sequential' | 'parallel';
  modules: number;
  stages: number | null;
  /** Modules per stage of the timed epoch. */
  stageModules: number[] | null;
  steps: number;
  batch: number;
  /** The fastest of the rounds' epochs. */
  seconds: number;
  /** Every round's epoch, in order. */
  allSeconds: number[];
  imagesPerSecond: number;
  /** This row's epoch time / end-to-end's (lower is faster). */
  vsE2e: number;
  /** This row's epoch time / the same method's sequential time (parallel rows only). */
  vsSequential: number | null;
}

const NETS: Record<ParallelNet, { depth: number; input: ImageShape; mnist: boolean }> = {
  'mnist-resnet8': { depth: 8, input: { height: 28, width: 28, channels: 1 }, mnist: true },
  'cifar-resnet20': { depth: 20, input: { height: 32, width: 32, channels: 3 }, mnist: false },
  'cifar-resnet32': { depth: 32, input: { height: 32, width: 32, channels: 3 }, mnist: false },
};

async function batchesFor(net: ParallelNet, count: number, batch: number): Promise<HostBatch[]> {
  const { input, mnist } = NETS[net];
  if (mnist) {
    const out: HostBatch[] = [];
    for await (const b of iterateBatches(openMnist(), 'train', { batchSize: batch, shuffle: true, seed: 1, epoch: 1, augment: false, limit: count * batch, dropLast: true })) out.push(b);
    return out;
  }
  const size = input.height * input.width * input.channels;
  let s = 12345;
  const next = () => ((s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32) * 2 - 1;
  return Array.from({ length: count }, () => ({ x: Float32Array.from({ length: batch * size }, next), y: Int32Array.from({ length: batch }, (_, i) => i % 10), size: batch, shape: input }));
}

async function* copies(batches: readonly HostBatch[]): AsyncGenerator<HostBatch> {
  for (const b of batches) yield { ...b, x: b.x.slice(), y: b.y.slice() };
}

interface Runner {
  method: BaseMethod;
  mode: Row['mode'];
  stages: number | null;
  modules: number;
  stageModules: number[] | null;
  /** Seconds of one timed epoch over the timed batches. */
  epoch(): Promise<number>;
  close(): Promise<void>;
  times: number[];
}

export async function moduleParallelWallClock(options: ModuleParallelBenchOptions = {}): Promise<Row[]> {
  const { nets = ['mnist-resnet8'], steps = 40, warmUp = 3, batch = 64, methods = ['infopro', 'dgl'], split = 'k4', stages = [2], rounds = 2 } = options;
  const log = options.log ?? (() => {});
  await selectBackend('wasm');
  const rows: Row[] = [];
  for (const net of nets) {
    const { depth, input, mnist } = NETS[net];
    const preset = splitPresets(depth).find((p) => p.id === split);
    if (!preset) throw new Error(`ResNet-${depth} has no split preset '${split}'`);
    const normalization = PREPROCESSING[mnist ? 'mnist' : 'cifar10'].normalization;
    const all = await batchesFor(net, warmUp + steps, batch);
    const [warm, timed] = [all.slice(0, warmUp), all.slice(warmUp)];
    const build = (method: BaseMethod) => {
      const model = createResNet(depth, input, 10, 0);
      const trainer = new LocalTrainer({ model, method, cuts: preset.cuts, normalization, seed: 0 });
      return { model, trainer, sgd: new SgdNesterov({ lr: 0.05 }) };
    };
    const release = (state: ReturnType<typeof build>) => {
      state.sgd.dispose();
      state.trainer.dispose();
      state.model.dispose();
    };
    const sequential = async (method: BaseMethod): Promise<Runner> => {
      const state = build(method);
      const run = async (batches: HostBatch[]) => {
        for (const b of batches) {
          const x = tf.tensor4d(b.x, [b.size, input.height, input.width, input.channels]);
          const y = tf.tensor1d(b.y, 'int32');
          await lossValues(state.trainer.step(x, y, state.sgd));
          tf.dispose([x, y]);
        }
      };
      await run(warm);
      return {
        method,
        mode: method === 'e2e' ? 'e2e' : 'sequential',
        stages: null,
        modules: state.trainer.modules.length,
        stageModules: null,
        times: [],
        async epoch() {
          const started = performance.now();
          await run(timed);
          return (performance.now() - started) / 1000;
        },
        close: async () => release(state),
      };
    };
    const parallel = async (method: BaseMethod, stageCount: number): Promise<Runner> => {
      const state = build(method);
      const trainer = await ModuleParallelTrainer.create(state, { method, batchSize: batch, backend: 'wasm' }, { stages: stageCount });
      const lr = () => 0.05;
      // The warm-up epoch also times the modules in the stages and rebalances them.
      await trainer.trainEpoch(copies(warm), lr, () => {});
      const runner: Runner = {
        method,
        mode: 'parallel',
        stages: stageCount,
        modules: state.trainer.modules.length,
        stageModules: trainer.stageModules,
        times: [],
        async epoch() {
          runner.stageModules = trainer.stageModules;
          const started = performance.now();
          await trainer.trainEpoch(copies(timed), lr, () => {});
          return (performance.now() - started) / 1000;
        },
        async close() {
          await trainer.close();
          release(state);
        },
      };
      return runner;
    };
    const runners: Runner[] = [await sequential('e2e')];
    try {
      for (const method of methods) {
        runners.push(await sequential(method));
        for (const stageCount of stages) runners.push(await parallel(method, stageCount));
      }
      // Round-robin, so that load from other work on the machine falls on every configuration alike.
      for (let round = 0; round < rounds; round++) {
        for (const r of runners) {
          r.times.push(await r.epoch());
          log(`${net} round ${round + 1} ${r.method} ${r.mode}${r.stages ? ` ${r.stages} stages [${r.stageModules!.join('+')}]` : ''}: ${r.times.at(-1)!.toFixed(1)} s`);
        }
      }
    } finally {
      for (const r of runners) await r.close();
    }
    const best = (r: Runner) => Math.min(...r.times);
    const e2e = best(runners[0]!);
    for (const r of runners) {
      const seq = runners.find((q) => q.method === r.method && q.mode === 'sequential');
      rows.push({
        net,
        method: r.method,
        mode: r.mode,
        modules: r.modules,
        stages: r.stages,
        stageModules: r.stageModules,
        steps,
        batch,
        seconds: best(r),
        allSeconds: [...r.times],
        imagesPerSecond: (steps * batch) / best(r),
        vsE2e: best(r) / e2e,
        vsSequential: r.mode === 'parallel' && seq ? best(r) / best(seq) : null,
      });
    }
  }
  return rows;
}

/** The rows as a markdown table. */
export function formatModuleParallelRows(rows: Row[]): string {
  const lines = ['| net | method | mode | K | stages (modules each) | s / epoch (best) | every round | img/s | vs e2e | vs sequential |', '|---|---|---|---:|---|---:|---|---:|---:|---:|'];
  for (const r of rows) {
    const stages = r.stages === null ? '-' : `${r.stages} (${r.stageModules!.join('+')})`;
    lines.push(
      `| ${r.net} | ${r.method} | ${r.mode} | ${r.modules} | ${stages} | ${r.seconds.toFixed(1)} | ${r.allSeconds.map((s) => s.toFixed(1)).join(', ')} | ${r.imagesPerSecond.toFixed(1)} | ${r.vsE2e.toFixed(2)} | ${r.vsSequential === null ? '-' : r.vsSequential.toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}
