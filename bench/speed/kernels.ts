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
 *       one (one-GEMM pool, 1x1 convs as GEMMs, fused ReLU, SIMD GEMMs), next to the ResNet-8
 *       step's time per image and both as GFLOP/s;
 *   (d) a whole training step of end-to-end and of DGL (K = 4) on ResNet-8, 28x28x1, batch 128
 *       (the papers' MNIST protocol), through the engine's trainer, with the current kernels and
 *       head: DGL's step time over end-to-end's. (Not old vs new: the trainer builds the current
 *       head, whose 1x1 convs on the stock BatchMatMul would be slower than the former head was;
 *       (c) times the former head.)
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
import { setSimdGemmEnabled } from '../../main/engine/backend/wasm-simd';
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
}

export interface MethodRow {
  method: 'e2e' | 'dgl';
  split: string;
  imagesPerSecond: number;
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
  return { loadBefore, loadAfter: loadavg()[0]!, rounds, filterGrad, step, dglHead, backboneMsPerImage, methods };
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
  return lines.join('\n');
}
