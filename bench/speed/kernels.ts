/**
 * The wasm training kernels old against new, side by side in one process and interleaved (old,
 * new, old, new, ... in alternating order, several rounds; medians over rounds; CPU time, not
 * wall time), because the machine is shared and its load drifts within minutes:
 *
 *   (a) the convolution filter gradient's GFLOP/s on ResNet-8's geometries at batch 64: the
 *       XNNPACK form (transposes + a dilated conv) against the SIMD GEMM, next to the forward
 *       convolution on the same geometry (stock XNNPACK, and the direct SIMD conv that now
 *       replaces it) and the input gradient (phases on XNNPACK, and on the direct conv);
 *   (b) one ResNet-8 training step (28x28x1, batch 64) with the SIMD GEMMs off and on;
 *   (c) one DGL head's training step (forward + backward) per image on each of ResNet-8's
 *       feature maps: the former head (stock-op composition, stock kernels) against the current
 *       one (GEMM pool, 1x1 convs as GEMMs, fused ReLU, SIMD GEMMs), next to the ResNet-8
 *       step's time per image and both as GFLOP/s;
 *   (d) a whole training step of end-to-end and of DGL (K = 4) on ResNet-8, 28x28x1, batch 128
 *       (the papers' MNIST protocol), through the engine's trainer, with the current kernels and
 *       head: DGL's step time over end-to-end's. (Not old vs new: the trainer builds the current
 *       head, whose 1x1 convs on the stock BatchMatMul would be slower than the former head was;
 *       (c) times the former head.)
 *
 *   (e) kernels.c's two builds on the GEMM shapes the profile of a DGL step puts first (the head's
 *       1x1 convs, their filter gradient, the MLP) and on ResNet-8's stage convolutions: GFLOP/s
 *       of the plain SIMD128 module against the relaxed-SIMD one (fused multiply-adds), each on a
 *       memory of its own, outside tfjs.
 *
 * "Old" is setSimdGemmEnabled(false) (XNNPACK convolutions and filter gradient, the stock
 * BatchMatMul) plus, for (c), the head as it was composed before; "new" is the default. The
 * Identity that shares buffers is on in both (it is not behind the switch).
 */
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { type AuxModule, ConvBnRelu, Linear } from '../../main/engine/aux/aux-classifier';
import { createDglHead, DGL_POOL_SIZE } from '../../main/engine/aux/dgl-head';
import { crossEntropy } from '../../main/engine/aux/losses';
import { initWasmBackend } from '../../main/engine/backend/wasm-setup';
import { instantiateKernelBuild, setSimdGemmEnabled, type SimdKernels, type SimdVariant } from '../../main/engine/backend/wasm-simd';
import { BatchNorm } from '../../main/engine/nets/batch-norm';
import { createResNet, Init } from '../../main/engine/nets/resnet-model';
import { createTrainer } from '../../main/engine/train/create-trainer';
import { SgdNesterov } from '../../main/engine/train/sgd';
import { splitPresets } from '../../shared/engine/splits';
import { stepRig } from './wasm-step';

export interface KernelSpeedOptions {
  /** Interleaved rounds per measurement, default 5. */
  rounds?: number;
  /** Timed wall time per variant per round in ms, default 600. */
  roundMs?: number;
  log?: (line: string) => void;
}

export interface FilterGradRow {
  geometry: string;
  /** GFLOP/s of the filter gradient: XNNPACK form (old) and SIMD GEMM (new). */
  xnnpackGflops: number;
  simdGflops: number;
  /** GFLOP/s of the forward convolution: stock XNNPACK (old) and the direct SIMD conv (new). */
  forwardGflops: number;
  forwardDirectGflops: number;
  /** GFLOP/s of the input gradient: phases on XNNPACK (old) and on the direct SIMD conv (new); null for the stem (never needed). */
  inputGradGflops: number | null;
  inputGradDirectGflops: number | null;
}

export interface DglHeadRow {
  featureMap: string;
  formerMsPerImage: number;
  msPerImage: number;
  /** The head's arithmetic per image (forward + backward) over its time. */
  gflops: number;
}

export interface KernelSpeedReport {
  loadBefore: number;
  loadAfter: number;
  rounds: number;
  filterGrad: FilterGradRow[];
  /** img/s from CPU time, and from wall time (inflated by other load) beside it. */
  step: { oldImagesPerSecond: number; newImagesPerSecond: number; oldWallImagesPerSecond: number; newWallImagesPerSecond: number; gflops: number };
  dglHead: DglHeadRow[];
  /** The ResNet-8 step's ms per image (new kernels), the reference for the head rows. */
  backboneMsPerImage: number;
  methods: MethodRow[];
  builds: BuildRow[];
}

export interface BuildRow {
  shape: string;
  plainGflops: number;
  relaxedGflops: number;
}

export interface MethodRow {
  method: 'e2e' | 'dgl';
  split: string;
  imagesPerSecond: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Variant {
  name: string;
  /** Called before each round of this variant (e.g. switch the kernels). */
  enter(): void;
  run(): void;
}

/** CPU ms this process has used: under other load it counts the work, not the waits for a core. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Median CPU ms per call of each variant: every round runs each variant (order reversed on odd
 * rounds) for about `roundMs` of wall time after one untimed call, and takes its median call;
 * the result is the median over rounds. CPU time rather than wall time, because the machine's
 * cores are shared: a call preempted half-way takes twice the wall time but the same CPU time.
 */
function interleave(variants: Variant[], rounds: number, roundMs: number, wall?: Map<string, number>): Map<string, number> {
  const perRound = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  const wallPerRound = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...variants].reverse() : variants;
    for (const v of order) {
      v.enter();
      v.run();
      const times: number[] = [];
      const wallTimes: number[] = [];
      const start = performance.now();
      while (times.length < 3 || performance.now() - start < roundMs) {
        const [t0, w0] = [cpuMs(), performance.now()];
        v.run();
        times.push(cpuMs() - t0);
        wallTimes.push(performance.now() - w0);
      }
      perRound.get(v.name)!.push(median(times));
      wallPerRound.get(v.name)!.push(median(wallTimes));
    }
  }
  setSimdGemmEnabled(true);
  // Wall time too where asked (what a user waits; inflated by whatever else runs).
  if (wall) for (const [name, ms] of wallPerRound) wall.set(name, median(ms));
  return new Map([...perRound].map(([name, ms]) => [name, median(ms)]));
}

type Shape4 = [number, number, number, number];

/** ResNet-8's (28x28x1) convolutions at batch 64, with how many of each it has, and the DGL head's 1x1 conv. */
const GEOMETRIES: { name: string; x: Shape4; w: Shape4; stride: number; inResNet8: number }[] = [
  { name: 'stem 28x28x1 -> 16', x: [64, 28, 28, 1], w: [3, 3, 1, 16], stride: 1, inResNet8: 1 },
  { name: 'stage 1 28x28x16 -> 16', x: [64, 28, 28, 16], w: [3, 3, 16, 16], stride: 1, inResNet8: 2 },
  { name: 'down 28x28x16 -> 32 /2', x: [64, 28, 28, 16], w: [3, 3, 16, 32], stride: 2, inResNet8: 1 },
  { name: 'shortcut 1x1 28x28x16 -> 32 /2', x: [64, 28, 28, 16], w: [1, 1, 16, 32], stride: 2, inResNet8: 1 },
  { name: 'stage 2 14x14x32 -> 32', x: [64, 14, 14, 32], w: [3, 3, 32, 32], stride: 1, inResNet8: 1 },
  { name: 'down 14x14x32 -> 64 /2', x: [64, 14, 14, 32], w: [3, 3, 32, 64], stride: 2, inResNet8: 1 },
  { name: 'shortcut 1x1 14x14x32 -> 64 /2', x: [64, 14, 14, 32], w: [1, 1, 32, 64], stride: 2, inResNet8: 1 },
  { name: 'stage 3 7x7x64 -> 64', x: [64, 7, 7, 64], w: [3, 3, 64, 64], stride: 1, inResNet8: 1 },
  { name: 'DGL head 1x1 8x8x128 -> 128', x: [64, 8, 8, 128], w: [1, 1, 128, 128], stride: 1, inResNet8: 0 },
];

function filterGradRows(rounds: number, roundMs: number, log: (line: string) => void): FilterGradRow[] {
  const rows: FilterGradRow[] = [];
  for (const g of GEOMETRIES) {
    const x = tf.randomNormal(g.x, 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal(g.w, 0, 0.1, 'float32', 2) as tf.Tensor4D;
    const y = tf.conv2d(x, w, g.stride, 'same');
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3) as tf.Tensor4D;
    const flops = 2 * y.size * g.w[0] * g.w[1] * g.w[2];
    const dw = (): void => tf.dispose(tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { filterShape: g.w, strides: g.stride, pad: 'same', dataFormat: 'NHWC' }) as tf.Tensor);
    const dx = (): void => tf.dispose(tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { inputShape: g.x, strides: g.stride, pad: 'same', dataFormat: 'NHWC' }) as tf.Tensor);
    const forward = (): void => tf.dispose(tf.conv2d(x, w, g.stride, 'same'));
    const old = (): void => setSimdGemmEnabled(false);
    const current = (): void => setSimdGemmEnabled(true);
    const stem = g.x[3] === 1;
    const ms = interleave([
      { name: 'dw old', enter: old, run: dw },
      { name: 'dw new', enter: current, run: dw },
      { name: 'fwd old', enter: old, run: forward },
      { name: 'fwd new', enter: current, run: forward },
      ...(stem ? [] : [{ name: 'dx old', enter: old, run: dx }, { name: 'dx new', enter: current, run: dx }]),
    ], rounds, roundMs);
    const gflops = (name: string): number => flops / ms.get(name)! / 1e6;
    const row: FilterGradRow = {
      geometry: g.name,
      xnnpackGflops: gflops('dw old'),
      simdGflops: gflops('dw new'),
      forwardGflops: gflops('fwd old'),
      forwardDirectGflops: gflops('fwd new'),
      inputGradGflops: stem ? null : gflops('dx old'),
      inputGradDirectGflops: stem ? null : gflops('dx new'),
    };
    const dxText = stem ? '' : `; input gradient ${row.inputGradGflops!.toFixed(1)} -> ${row.inputGradDirectGflops!.toFixed(1)}`;
    log(`${g.name}: filter gradient ${row.xnnpackGflops.toFixed(1)} -> ${row.simdGflops.toFixed(1)}; forward ${row.forwardGflops.toFixed(1)} -> ${row.forwardDirectGflops.toFixed(1)}${dxText} GFLOP/s`);
    rows.push(row);
    tf.dispose([x, w, y, dy]);
  }
  return rows;
}

/** Multiply-adds of a ResNet-8 (28x28x1, 10 classes) forward per image: its convolutions and classifier. */
function resnet8ForwardMacs(): number {
  return GEOMETRIES.reduce((sum, g) => sum + g.inResNet8 * Math.ceil(g.x[1] / g.stride) * Math.ceil(g.x[2] / g.stride) * g.w[0] * g.w[1] * g.w[2] * g.w[3], 64 * 10);
}

/** Multiply-adds of the DGL head's forward per image on an h x w x c feature map. */
function dglHeadForwardMacs(h: number, w: number, c: number): number {
  const cells = DGL_POOL_SIZE * DGL_POOL_SIZE;
  // avgPool where the size divides, else the separable form: rows ([8, h] @ [h, w*c]), then columns.
  const pool = h % DGL_POOL_SIZE === 0 && w % DGL_POOL_SIZE === 0 ? h * w * c : DGL_POOL_SIZE * (h * w + DGL_POOL_SIZE * w) * c;
  return pool + cells * (c * 128 + 2 * 128 * 128) + 128 * 512 + 2 * 512 * 512 + 512 * 10;
}

/** The DGL head as composed before this change (kept here only to time it against the current one). */
function createFormerDglHead(inChannels: number, classes: number, seed: number): AuxModule & { apply(h: tf.Tensor4D, training: boolean): tf.Tensor2D } {
  const init = new Init(seed);
  const convs = [0, 1, 2].map((i) => new ConvBnRelu(1, i === 0 ? inChannels : 128, 128, 1, init, false));
  const hidden = [0, 1, 2].map((i) => ({ linear: new Linear(i === 0 ? 128 : 512, 512, init), bn: new BatchNorm(512) }));
  const last = new Linear(512, classes, init);
  const bins = (size: number): tf.Tensor2D => {
    const v = new Float32Array(DGL_POOL_SIZE * size);
    for (let i = 0; i < DGL_POOL_SIZE; i++) {
      const start = Math.floor((i * size) / DGL_POOL_SIZE);
      const end = Math.ceil(((i + 1) * size) / DGL_POOL_SIZE);
      for (let j = start; j < end; j++) v[i * size + j] = 1 / (end - start);
    }
    return tf.tensor2d(v, [DGL_POOL_SIZE, size]);
  };
  const pool = (x: tf.Tensor4D): tf.Tensor4D => {
    const [n, h, w, c] = x.shape;
    const out = DGL_POOL_SIZE;
    if (h % out === 0 && w % out === 0) return tf.avgPool(x, [h / out, w / out], [h / out, w / out], 'valid');
    const rows = tf.matMul(tf.tile(tf.expandDims(bins(h), 0), [n, 1, 1]) as tf.Tensor3D, tf.reshape(x, [n, h, w * c]) as tf.Tensor3D);
    const byCol = tf.transpose(tf.reshape(rows, [n, out, w, c]), [0, 2, 1, 3]);
    const cols = tf.matMul(tf.tile(tf.expandDims(bins(w), 0), [n, 1, 1]) as tf.Tensor3D, tf.reshape(byCol, [n, w, out * c]) as tf.Tensor3D);
    return tf.transpose(tf.reshape(cols, [n, out, out, c]), [0, 2, 1, 3]) as tf.Tensor4D;
  };
  return {
    apply: (h, training) =>
      tf.tidy(() => {
        let x = pool(h);
        for (const c of convs) x = c.apply(x, training);
        let y = tf.mean(x, [1, 2]) as tf.Tensor2D;
        for (const { linear, bn } of hidden) {
          const z = bn.apply(tf.reshape(linear.apply(y), [-1, 1, 1, 512]) as tf.Tensor4D, training);
          y = tf.relu(tf.reshape(z, [-1, 512])) as tf.Tensor2D;
        }
        return last.apply(y);
      }),
    get trainableVariables() {
      return [...convs.flatMap((c) => c.trainableVariables), ...hidden.flatMap(({ linear, bn }) => [...linear.variables, ...bn.trainableVariables]), ...last.variables];
    },
    get stateVariables() {
      return [...convs.flatMap((c) => c.bn.stateVariables), ...hidden.flatMap(({ bn }) => bn.stateVariables)];
    },
    dispose() {
      convs.forEach((c) => c.dispose());
      hidden.forEach(({ linear, bn }) => {
        linear.dispose();
        bn.dispose();
      });
      last.dispose();
    },
  };
}

/** One head's training step (forward, loss, gradients of the input and every variable; no update). */
function headStep(head: AuxModule & { apply(h: tf.Tensor4D, training: boolean): tf.Tensor2D }, h: tf.Variable, y: tf.Tensor1D): () => void {
  const variables = [h, ...head.trainableVariables];
  return () => {
    const { value, grads } = tf.variableGrads(() => crossEntropy(head.apply(h as unknown as tf.Tensor4D, true), y), variables);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
}

/** (d): one trainer step (forward, every local loss, backward, SGD) per call, current kernels. */
function methodRows(rounds: number, roundMs: number, log: (line: string) => void): MethodRow[] {
  const batch = 128;
  const x = tf.randomNormal([batch, 28, 28, 1], 0, 1, 'float32', 11) as tf.Tensor4D;
  const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32');
  const rigs = (['e2e', 'dgl'] as const).map((method) => {
    const split = method === 'e2e' ? 'k1' : 'k4';
    const model = createResNet(8, { height: 28, width: 28, channels: 1 }, 10, 1);
    const cuts = splitPresets(8).find((p) => p.id === split)!.cuts;
    const trainer = createTrainer({ model, method, cuts, normalization: { mean: [0.1307], std: [0.3081] }, seed: 1 });
    const sgd = new SgdNesterov({ lr: 0.05 });
    const step = (): void => {
      const losses = trainer.step(x, y, sgd);
      for (const l of losses) l.dataSync();
      tf.dispose(losses);
    };
    return { method, split, model, trainer, sgd, step };
  });
  const ms = interleave(rigs.map((r) => ({ name: r.method, enter: () => setSimdGemmEnabled(true), run: r.step })), rounds, roundMs);
  const rows = rigs.map((r) => ({ method: r.method, split: r.split, imagesPerSecond: (batch * 1000) / ms.get(r.method)! }));
  for (const row of rows) log(`${row.method} ${row.split} step: ${row.imagesPerSecond.toFixed(1)} img/s`);
  for (const r of rigs) {
    r.trainer.dispose();
    r.sgd.dispose();
    r.model.dispose();
  }
  tf.dispose([x, y]);
  return rows;
}

// The WebAssembly JS API's Memory, typed here: the Node tsconfig has no DOM lib to declare it.
const WasmMemory = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly.Memory;

/** (e): one call's GFLOP/s in each build; operands filled once on each build's own memory. */
function buildRows(rounds: number, roundMs: number, log: (line: string) => void): BuildRow[] {
  const heaps = (['plain', 'relaxed'] as const).map((variant) => {
    const memory = new WasmMemory({ initial: 512 });
    new Float32Array(memory.buffer).forEach((_, i, a) => (a[i] = ((i * 7919) % 1000) / 1000 - 0.5));
    return { variant, kernels: instantiateKernelBuild(variant, memory) };
  });
  // Operands at fixed byte offsets (A at 1 MiB, B at 12 MiB, C at 20 MiB): 32 MiB holds the largest.
  const [A, B, C] = [1 << 20, 12 << 20, 20 << 20];
  const cases: { shape: string; flops: number; call: (k: SimdKernels) => void }[] = [
    ...([[8192, 128, 128, false, 'DGL 1x1 conv'], [128, 128, 8192, true, 'DGL 1x1 conv filter grad'], [128, 512, 512, false, 'DGL MLP']] as const).map(([m, n, k, transposed, what]) => ({
      shape: `${what}: GEMM ${m}x${k} @ ${k}x${n}`,
      flops: 2 * m * n * k,
      call: (kernels: SimdKernels) => kernels.gemm(A, transposed ? 1 : k, transposed ? m : 1, B, C, m, n, k, 0),
    })),
    ...([[28, 16, 16], [14, 32, 32], [7, 64, 64]] as const).map(([size, ci, co]) => ({
      shape: `conv 3x3 ${size}x${size}x${ci} -> ${co}, batch 64`,
      flops: 2 * 64 * size * size * 9 * ci * co,
      // The input already padded to size + 2 (what pad_nhwc hands the direct conv).
      call: (kernels: SimdKernels) => kernels.conv2d_direct(A, B, C, 64, size + 2, size + 2, ci, size, size, co, 3, 3, 1, 1),
    })),
  ];
  return cases.map((c) => {
    const ms = interleave(heaps.map((h) => ({ name: h.variant, enter: () => {}, run: () => c.call(h.kernels) })), rounds, roundMs);
    const gflops = (variant: SimdVariant): number => c.flops / ms.get(variant)! / 1e6;
    const row = { shape: c.shape, plainGflops: gflops('plain'), relaxedGflops: gflops('relaxed') };
    log(`${row.shape}: plain ${row.plainGflops.toFixed(1)}, relaxed ${row.relaxedGflops.toFixed(1)} GFLOP/s`);
    return row;
  });
}

export async function kernelSpeed(options: KernelSpeedOptions = {}): Promise<KernelSpeedReport> {
  const rounds = options.rounds ?? 5;
  const roundMs = options.roundMs ?? 600;
  const log = options.log ?? (() => {});
  const loadBefore = loadavg()[0]!;
  await initWasmBackend();

  const filterGrad = filterGradRows(rounds, Math.round(roundMs * 0.6), log);

  const batch = 64;
  const rig = stepRig(8, { height: 28, width: 28, channels: 1 }, batch);
  const stepWallMs = new Map<string, number>();
  const stepMs = interleave([
    { name: 'old', enter: () => setSimdGemmEnabled(false), run: () => rig.step() },
    { name: 'new', enter: () => setSimdGemmEnabled(true), run: () => rig.step() },
  ], rounds, roundMs * 3, stepWallMs);
  rig.dispose();
  const backboneMsPerImage = stepMs.get('new')! / batch;
  // Forward + backward is about 3x the forward's multiply-adds (the stem's input gradient is not needed; ignored).
  const stepFlopsPerImage = 3 * 2 * resnet8ForwardMacs();
  const step = {
    oldImagesPerSecond: (batch * 1000) / stepMs.get('old')!,
    newImagesPerSecond: (batch * 1000) / stepMs.get('new')!,
    oldWallImagesPerSecond: (batch * 1000) / stepWallMs.get('old')!,
    newWallImagesPerSecond: (batch * 1000) / stepWallMs.get('new')!,
    gflops: stepFlopsPerImage / backboneMsPerImage / 1e6,
  };
  log(`ResNet-8 step: old ${step.oldImagesPerSecond.toFixed(1)} img/s, new ${step.newImagesPerSecond.toFixed(1)} img/s`);

  const dglHead: DglHeadRow[] = [];
  for (const [size, channels] of [[28, 16], [14, 32], [7, 64]] as const) {
    const h = tf.variable(tf.randomNormal([batch, size, size, channels], 0, 1, 'float32', 5), true);
    const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32');
    const former = createFormerDglHead(channels, 10, 1);
    const current = createDglHead({ inChannels: channels, classes: 10, seed: 1 });
    const ms = interleave([
      { name: 'former', enter: () => setSimdGemmEnabled(false), run: headStep(former, h, y) },
      { name: 'current', enter: () => setSimdGemmEnabled(true), run: headStep(current, h, y) },
    ], rounds, roundMs * 2);
    const msPerImage = ms.get('current')! / batch;
    const row = { featureMap: `${size}x${size}x${channels}`, formerMsPerImage: ms.get('former')! / batch, msPerImage, gflops: (3 * 2 * dglHeadForwardMacs(size, size, channels)) / msPerImage / 1e6 };
    log(`DGL head ${row.featureMap}: former ${row.formerMsPerImage.toFixed(3)} ms/img, current ${row.msPerImage.toFixed(3)} ms/img`);
    dglHead.push(row);
    former.dispose();
    current.dispose();
    tf.dispose([h, y]);
  }
  const methods = methodRows(rounds, roundMs * 3, log);
  const builds = buildRows(rounds, Math.round(roundMs * 0.6), log);
  return { loadBefore, loadAfter: loadavg()[0]!, rounds, filterGrad, step, dglHead, backboneMsPerImage, methods, builds };
}

export function formatKernelSpeed(r: KernelSpeedReport): string {
  const f = (v: number, d = 1): string => v.toFixed(d);
  const lines = [
    `medians of ${r.rounds} interleaved rounds, timed in CPU time (the process's, so preemption by other load does not count); load average ${f(r.loadBefore, 2)} before, ${f(r.loadAfter, 2)} after`,
    'GFLOP/s, batch 64; old = XNNPACK (the filter gradient via transposes and a dilated conv), new = SIMD GEMM / direct SIMD conv',
    '',
    'geometry                        filter grad old    new  new/old  new/fwd old |  forward old    new  new/old |  input grad old    new  new/old',
  ];
  const ratio = (a: number, b: number): string => `${f(a / b, 2)}x`;
  for (const g of r.filterGrad) {
    const dx = g.inputGradGflops === null ? ''.padStart(33) : `${f(g.inputGradGflops).padStart(18)}${f(g.inputGradDirectGflops!).padStart(7)}${ratio(g.inputGradDirectGflops!, g.inputGradGflops).padStart(9)}`;
    lines.push(`${g.geometry.padEnd(32)}${f(g.xnnpackGflops).padStart(15)}${f(g.simdGflops).padStart(7)}${ratio(g.simdGflops, g.xnnpackGflops).padStart(9)}${ratio(g.simdGflops, g.forwardGflops).padStart(13)} |` +
      `${f(g.forwardGflops).padStart(13)}${f(g.forwardDirectGflops).padStart(7)}${ratio(g.forwardDirectGflops, g.forwardGflops).padStart(9)} |${dx}`);
  }
  lines.push('', `ResNet-8 step, 28x28x1, batch 64: old ${f(r.step.oldImagesPerSecond)} img/s, new ${f(r.step.newImagesPerSecond)} img/s (${f(r.step.newImagesPerSecond / r.step.oldImagesPerSecond, 2)}x); ${f(r.backboneMsPerImage, 3)} ms/img, ~${f(r.step.gflops)} GFLOP/s`);
  lines.push(`  by wall time: old ${f(r.step.oldWallImagesPerSecond)} img/s, new ${f(r.step.newWallImagesPerSecond)} img/s (${f(r.step.newWallImagesPerSecond / r.step.oldWallImagesPerSecond, 2)}x)`);
  lines.push('', 'DGL head step (fwd + bwd), batch 64   former ms/img   current ms/img   current/former   head/ResNet-8 step per img   head GFLOP/s');
  for (const h of r.dglHead) {
    lines.push(`${h.featureMap.padEnd(38)}${f(h.formerMsPerImage, 3).padStart(13)}${f(h.msPerImage, 3).padStart(17)}${(f(h.msPerImage / h.formerMsPerImage, 2) + 'x').padStart(17)}` +
      `${(f(h.msPerImage / r.backboneMsPerImage, 2) + 'x').padStart(29)}${f(h.gflops).padStart(15)}`);
  }
  const [e2e, dgl] = [r.methods.find((m) => m.method === 'e2e'), r.methods.find((m) => m.method === 'dgl')];
  if (e2e && dgl) {
    lines.push('', `training step, ResNet-8 28x28x1, batch 128, current kernels: end-to-end ${f(e2e.imagesPerSecond)} img/s, DGL K = 4 ${f(dgl.imagesPerSecond)} img/s;` +
      ` DGL step time / end-to-end's ${f(e2e.imagesPerSecond / dgl.imagesPerSecond, 2)}x`);
  }
  lines.push('', 'kernels.c builds, GFLOP/s (engine runs relaxed where it compiles)   plain   relaxed   relaxed/plain');
  for (const b of r.builds) lines.push(`${b.shape.padEnd(64)}${f(b.plainGflops).padStart(8)}${f(b.relaxedGflops).padStart(10)}${(f(b.relaxedGflops / b.plainGflops, 2) + 'x').padStart(16)}`);
  return lines.join('\n');
}
