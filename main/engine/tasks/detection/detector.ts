/**
 * A small FCOS-style single-stage detector (Tian et al. 2019) on a small ResNet backbone with an
 * FPN over P3-P5, as an ordered list of backbone units plus one tail, so it can be cut into
 * gradient-isolated local modules like the classification ResNets (../../nets/resnet-model.ts)
 * and the EDSR (../super-resolution/edsr.ts):
 *
 *   stem    conv3x3 stride 2 + BN + ReLU                        (stride 2)
 *   blocks  BasicBlocks (the classification ResNets' own, createBlock) in stages 2..5; the first
 *           block of each stage halves the size                 (strides 4, 8, 16, 32)
 *           the last block of stages 3, 4, 5 gives C3, C4, C5, the pyramid's inputs ("taps")
 *   tail    FPN: 1x1 laterals to F channels, top-down nearest x2 upsampling and sums, 3x3 output
 *           convs -> P3, P4, P5; the FCOS head shared over levels: a classification tower and a
 *           regression tower of conv3x3 + ReLU, class logits, (l, t, r, b) distances as
 *           exp(x) * stride, centerness from the regression tower (FCOS's later placement).
 *
 * Why FCOS and not RetinaNet (the renamed GLCAN paper used RetinaNet-R34, methods.md 3.1): the same
 * backbone + FPN + shared-tower head and the same focal loss, but one prediction per location and
 * no anchors to size or match, so a local head on any single map (DGL-style) and GLCAN's local FPN
 * train with the real head's loss unchanged; fewer settings to get wrong on 64 px canvases.
 * Differences from FCOS's paper, for small CPU-sized nets: no GroupNorm in the towers, no learnable
 * per-level scale (exp(x) * stride instead), P6/P7 left out (the objects are small).
 */
import * as tf from '@tensorflow/tfjs-core';
import { mixSeed } from '../../../data/random';
import { BatchNorm } from '../../nets/batch-norm';
import { createBlock, Init, type UnitModel } from '../../nets/resnet-model';
import type { Unit } from '../../../../shared/engine/resnet';
import { Conv } from '../super-resolution/edsr';

export interface DetectorConfig {
  /** Image channels (1 for the MNIST canvases, 3 for photographs). */
  channels: 1 | 3;
  classes: number;
  /** Widths of stages 2, 3, 4, 5 (the stem has stage 2's width). */
  widths: [number, number, number, number];
  /** BasicBlocks per stage: one count for all four, or one per stage 2..5 (ResNet-34's layout: [3, 4, 6, 3]). */
  blocksPerStage: number | [number, number, number, number];
  /** FPN and head width F. */
  fpn: number;
  /** Convs in each head tower (FCOS: 4). */
  towerConvs: number;
  /** A location on level l regresses objects whose largest distance is in (rangeScale * stride_(l-1), rangeScale * stride_l]. */
  rangeScale: number;
}

export const DETECTOR_DEFAULTS: Omit<DetectorConfig, 'channels' | 'classes'> = { widths: [16, 32, 48, 64], blocksPerStage: 1, fpn: 32, towerConvs: 2, rangeScale: 2 };

/** Pyramid levels P3, P4, P5: their strides. */
export const PYRAMID_STRIDES: readonly number[] = [8, 16, 32];

export class DetectorConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DetectorConfigError';
  }
}

export function validateDetectorConfig(c: DetectorConfig): DetectorConfig {
  const whole = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;
  if (c.channels !== 1 && c.channels !== 3) throw new DetectorConfigError(`Images must have 1 or 3 channels (got ${c.channels}).`);
  if (!whole(c.classes, 1, 1000)) throw new DetectorConfigError(`The detector needs 1 to 1000 classes (got ${c.classes}).`);
  if (c.widths.length !== 4 || !c.widths.every((w) => whole(w, 1, 1024))) throw new DetectorConfigError(`Give four stage widths, whole numbers from 1 to 1024 (got ${JSON.stringify(c.widths)}).`);
  const blocks = typeof c.blocksPerStage === 'number' ? [c.blocksPerStage] : c.blocksPerStage;
  if (!(Array.isArray(blocks) && (blocks.length === 1 || blocks.length === 4) && blocks.every((b) => whole(b, 1, 16)))) {
    throw new DetectorConfigError(`Blocks per stage must be a whole number from 1 to 16, or four of them (got ${JSON.stringify(c.blocksPerStage)}).`);
  }
  if (!whole(c.fpn, 1, 1024)) throw new DetectorConfigError(`The FPN width must be a whole number from 1 to 1024 (got ${c.fpn}).`);
  if (!whole(c.towerConvs, 0, 8)) throw new DetectorConfigError(`The head's tower convs must be a whole number from 0 to 8 (got ${c.towerConvs}).`);
  if (!(c.rangeScale > 0)) throw new DetectorConfigError(`The regression range scale must be positive (got ${c.rangeScale}).`);
  return c;
}

/** BasicBlocks in stages 2, 3, 4, 5. */
export const stageBlocks = (config: DetectorConfig): number[] => (typeof config.blocksPerStage === 'number' ? [0, 1, 2, 3].map(() => config.blocksPerStage as number) : [...config.blocksPerStage]);

/** A level's locations and which objects it regresses: largest distance in (min, max]. */
export interface LevelSpec {
  stride: number;
  min: number;
  max: number;
}

/** The real detector's P3-P5 levels: contiguous ranges, the first from 0, the last unbounded. */
export function pyramidLevels(config: DetectorConfig): LevelSpec[] {
  return PYRAMID_STRIDES.map((stride, l) => ({ stride, min: l === 0 ? 0 : config.rangeScale * PYRAMID_STRIDES[l - 1]!, max: l === PYRAMID_STRIDES.length - 1 ? Infinity : config.rangeScale * stride }));
}

/** Side of a map at `stride` for a `size` input: every stride-2 conv (pad 1) maps n to ceil(n / 2). */
export const mapSide = (size: number, stride: number): number => {
  let n = size;
  for (let s = 1; s < stride; s *= 2) n = Math.ceil(n / 2);
  return n;
};

/** The value passed along the backbone: the current map and the pyramid taps C3, C4, C5 made so far (null before). */
export interface DetFlow {
  h: tf.Tensor4D;
  taps: (tf.Tensor4D | null)[];
}

export type DetUnitKind = 'stem' | 'block' | 'tail';

export interface DetUnitInfo {
  kind: DetUnitKind;
  /** 1 for the stem, 2..5 for blocks, 6 for the tail. */
  stage: number;
  /** Block index within its stage (0 for the stem and tail). */
  block: number;
  /** Total stride of the output map (the tail: 0). */
  stride: number;
  /** Output [H, W, C] for a size x size input; the tail's is [locations over P3-P5, classes + 5]. */
  output: [number, number, number] | [number, number];
  /** Which pyramid input this unit's output is (3, 4, 5), or null. */
  tap: number | null;
  params: number;
}

/** What the detector (or any detection head) predicts, every level's locations concatenated in level order. */
export type DetOutput = {
  /** Class logits [N, L, classes]. */
  cls: tf.Tensor3D;
  /** Distances (l, t, r, b) in pixels [N, L, 4], positive. */
  reg: tf.Tensor3D;
  /** Centerness logits [N, L]. */
  ctr: tf.Tensor2D;
};

export interface DetBackboneUnit {
  readonly info: DetUnitInfo;
  apply(flow: DetFlow, training: boolean): DetFlow;
  readonly trainableVariables: tf.Variable[];
  readonly stateVariables: tf.Variable[];
  dispose(): void;
}

/** PyTorch padding 1 for a stride-2 3x3 conv (TF 'same' would pad only bottom/right). */
const PAD_ONE: [[0, 0], [1, 1], [1, 1], [0, 0]] = [[0, 0], [1, 1], [1, 1], [0, 0]];

class Stem implements DetBackboneUnit {
  private readonly weight: tf.Variable<tf.Rank.R4>;
  private readonly bn: BatchNorm;
  constructor(
    readonly info: DetUnitInfo,
    private readonly channels: number,
    width: number,
    init: Init,
  ) {
    this.weight = init.conv(3, channels, width);
    this.bn = new BatchNorm(width);
  }
  apply(flow: DetFlow, training: boolean): DetFlow {
    if (flow.h.rank !== 4 || flow.h.shape[3] !== this.channels) throw new Error(`The detector's stem expects [N, H, W, ${this.channels}], got [${flow.h.shape.join(',')}]`);
    return { h: tf.tidy(() => this.bn.apply(tf.conv2d(flow.h, this.weight, 2, PAD_ONE), training, { relu: true })), taps: flow.taps };
  }
  get trainableVariables() {
    return [this.weight, ...this.bn.trainableVariables];
  }
  get stateVariables() {
    return this.bn.stateVariables;
  }
  dispose() {
    this.weight.dispose();
    this.bn.dispose();
  }
}

/** A backbone BasicBlock (the classification ResNets' own); the last of stages 3-5 records its output as a tap. */
class Block implements DetBackboneUnit {
  constructor(
    readonly info: DetUnitInfo,
    private readonly block: UnitModel,
  ) {}
  apply(flow: DetFlow, training: boolean): DetFlow {
    const h = this.block.apply(flow.h, training) as tf.Tensor4D;
    if (this.info.tap === null) return { h, taps: flow.taps };
    const taps = [...flow.taps];
    taps[this.info.tap - 3] = h;
    return { h, taps };
  }
  get trainableVariables() {
    return this.block.trainableVariables;
  }
  get stateVariables() {
    return this.block.stateVariables;
  }
  dispose() {
    this.block.dispose();
  }
}

/** A BasicBlock of backbone stage `stage` (2..5): stride 2 when it is the stage's first block. */
export function createStageBlock(stage: number, first: boolean, inChannels: number, width: number, seed: number): UnitModel {
  const unit: Unit = { kind: 'block', stage, block: first ? 0 : 1, output: [0, 0, width], params: 0 };
  return createBlock(unit, inChannels, seed);
}

/** Nearest-neighbour x2 upsampling cropped to h x w (built from concat/reshape: gradients on every backend). */
export function upsampleTo(x: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  return tf.tidy((): tf.Tensor4D => {
    const [n, xh, xw, c] = x.shape;
    const cols = tf.reshape(tf.concat([tf.reshape(x, [n, xh, xw, 1, c]), tf.reshape(x, [n, xh, xw, 1, c])], 3), [n, xh, 2 * xw * c]);
    const rows = tf.reshape(tf.concat([tf.reshape(cols, [n, xh, 1, 2 * xw * c]), tf.reshape(cols, [n, xh, 1, 2 * xw * c])], 2), [n, 2 * xh, 2 * xw, c]);
    return 2 * xh === h && 2 * xw === w ? (rows as tf.Tensor4D) : tf.slice(rows as tf.Tensor4D, [0, 0, 0, 0], [n, h, w, c]);
  });
}

/** FPN over C3..C5 (or any list of maps, finest first, each half the previous): P levels of width F. */
export class Fpn {
  readonly laterals: Conv[];
  readonly outputs: Conv[];
  constructor(inChannels: readonly number[], readonly width: number, init: Init) {
    this.laterals = inChannels.map((c) => new Conv(c, width, init, 1));
    this.outputs = inChannels.map(() => new Conv(width, width, init));
  }
  apply(maps: readonly tf.Tensor4D[]): tf.Tensor4D[] {
    if (maps.length !== this.laterals.length) throw new Error(`The FPN takes ${this.laterals.length} maps, got ${maps.length}`);
    return tf.tidy(() => {
      const lateral = maps.map((m, i) => this.laterals[i]!.apply(m));
      const merged: tf.Tensor4D[] = new Array(maps.length);
      for (let i = maps.length - 1; i >= 0; i--) {
        const [, h, w] = lateral[i]!.shape;
        merged[i] = i === maps.length - 1 ? lateral[i]! : tf.add(lateral[i]!, upsampleTo(merged[i + 1]!, h, w));
      }
      return merged.map((m, i) => this.outputs[i]!.apply(m));
    });
  }
  static params(inChannels: readonly number[], width: number): number {
    return inChannels.reduce((s, c) => s + c * width + width + 9 * width * width + width, 0);
  }
  get variables(): tf.Variable[] {
    return [...this.laterals.flatMap((c) => c.variables), ...this.outputs.flatMap((c) => c.variables)];
  }
  dispose(): void {
    for (const c of [...this.laterals, ...this.outputs]) c.dispose();
  }
}

/** RetinaNet/FCOS prior: the classification bias starts at -log((1 - pi) / pi), pi = 0.01, so the focal loss does not explode on step one. */
const PRIOR_BIAS = -Math.log((1 - 0.01) / 0.01);

/** The FCOS head, shared over the levels it is given (one set of weights for every level). */
export class FcosHead {
  readonly clsTower: Conv[];
  readonly regTower: Conv[];
  readonly cls: Conv;
  readonly reg: Conv;
  readonly ctr: Conv;
  constructor(width: number, readonly classes: number, towerConvs: number, init: Init) {
    this.clsTower = Array.from({ length: towerConvs }, () => new Conv(width, width, init));
    this.regTower = Array.from({ length: towerConvs }, () => new Conv(width, width, init));
    this.cls = new Conv(width, classes, init);
    this.reg = new Conv(width, 4, init);
    this.ctr = new Conv(width, 1, init);
    // FCOS/RetinaNet: class weights N(0, 0.01^2), the prior bias.
    const weight = init.normal(this.cls.weight.shape, 0.01);
    this.cls.weight.assign(weight as tf.Tensor4D);
    weight.dispose();
    tf.tidy(() => this.cls.bias.assign(tf.fill([classes], PRIOR_BIAS)));
  }
  /** Predictions for `levels` (maps [N, H, W, F]) at their `strides`, concatenated in level order. */
  apply(levels: readonly tf.Tensor4D[], strides: readonly number[]): DetOutput {
    return tf.tidy(() => {
      const parts = levels.map((p, l) => {
        const [n, h, w] = p.shape;
        const c = this.clsTower.reduce((x, conv) => conv.apply(x, true), p);
        const r = this.regTower.reduce((x, conv) => conv.apply(x, true), p);
        // exp(x) * stride, x clipped so an early bad step cannot overflow.
        const dist = tf.mul(tf.exp(tf.clipByValue(this.reg.apply(r), -8, 8)), strides[l]!);
        return { cls: tf.reshape(this.cls.apply(c), [n, h * w, this.classes]), reg: tf.reshape(dist, [n, h * w, 4]), ctr: tf.reshape(this.ctr.apply(r), [n, h * w]) };
      });
      const cat = <T extends tf.Tensor>(key: 'cls' | 'reg' | 'ctr') => (parts.length === 1 ? parts[0]![key] : tf.concat(parts.map((p) => p[key]), 1)) as T;
      return { cls: cat<tf.Tensor3D>('cls'), reg: cat<tf.Tensor3D>('reg'), ctr: cat<tf.Tensor2D>('ctr') };
    });
  }
  static params(width: number, classes: number, towerConvs: number): number {
    const conv = (cin: number, cout: number) => 9 * cin * cout + cout;
    return 2 * towerConvs * conv(width, width) + conv(width, classes) + conv(width, 4) + conv(width, 1);
  }
  get variables(): tf.Variable[] {
    return [...this.clsTower, ...this.regTower, this.cls, this.reg, this.ctr].flatMap((c) => c.variables);
  }
  dispose(): void {
    for (const c of [...this.clsTower, ...this.regTower, this.cls, this.reg, this.ctr]) c.dispose();
  }
}

/** The tail: FPN over the taps C3-C5, then the FCOS head. */
export class DetTail {
  readonly fpn: Fpn;
  readonly head: FcosHead;
  constructor(
    readonly info: DetUnitInfo,
    readonly config: DetectorConfig,
    init: Init,
  ) {
    this.fpn = new Fpn(config.widths.slice(1), config.fpn, init);
    this.head = new FcosHead(config.fpn, config.classes, config.towerConvs, init);
  }
  apply(taps: readonly (tf.Tensor4D | null)[]): DetOutput {
    if (taps.length !== 3 || taps.some((t) => !t)) throw new Error('The detection tail needs C3, C4 and C5: run the whole backbone first');
    return tf.tidy(() => this.head.apply(this.fpn.apply(taps as tf.Tensor4D[]), PYRAMID_STRIDES));
  }
  get trainableVariables(): tf.Variable[] {
    return [...this.fpn.variables, ...this.head.variables];
  }
  dispose(): void {
    this.fpn.dispose();
    this.head.dispose();
  }
}

const bnParams = (c: number) => 2 * c;

/** The detector's units for size x size inputs: what the split editor draws and a memory estimate reads. */
export function describeDetector(config: DetectorConfig, size: number): DetUnitInfo[] {
  const { channels, widths, fpn, classes, towerConvs } = validateDetectorConfig(config);
  const blocksIn = stageBlocks(config);
  if (!(Number.isInteger(size) && size >= 32)) throw new DetectorConfigError(`Images must be at least 32 px square for P5 (stride 32) to exist (got ${size}).`);
  const units: DetUnitInfo[] = [{ kind: 'stem', stage: 1, block: 0, stride: 2, output: [mapSide(size, 2), mapSide(size, 2), widths[0]], tap: null, params: 9 * channels * widths[0] + bnParams(widths[0]) }];
  let cin = widths[0];
  widths.forEach((width, s) => {
    const stride = 4 * 2 ** s;
    for (let b = 0; b < blocksIn[s]!; b++) {
      const side = mapSide(size, stride);
      const projection = b === 0; // the first block of every stage strides
      const params = 9 * cin * width + bnParams(width) + 9 * width * width + bnParams(width) + (projection ? cin * width + bnParams(width) : 0);
      const tap = s >= 1 && b === blocksIn[s]! - 1 ? s + 2 : null;
      units.push({ kind: 'block', stage: s + 2, block: b, stride, output: [side, side, width], tap, params });
      cin = width;
    }
  });
  const locations = PYRAMID_STRIDES.reduce((sum, stride) => sum + mapSide(size, stride) ** 2, 0);
  units.push({ kind: 'tail', stage: 6, block: 0, stride: 0, output: [locations, classes + 5], tap: null, params: Fpn.params(widths.slice(1), fpn) + FcosHead.params(fpn, classes, towerConvs) });
  return units;
}

export interface DetectorModel {
  readonly config: DetectorConfig;
  readonly seed: number;
  /** stem, blocks stage by stage. */
  readonly units: DetBackboneUnit[];
  readonly tail: DetTail;
  readonly levels: LevelSpec[];
  /** Images [N, H, W, C] in [0, 1] -> predictions over P3-P5. */
  forward(images: tf.Tensor4D, training: boolean): DetOutput;
  trainableVariables(): tf.Variable[];
  /** BatchNorm running statistics. */
  stateVariables(): tf.Variable[];
  dispose(): void;
}

/** Run backbone `units` on `flow`; intermediate maps not kept as taps are freed; the input's tensors are not disposed. */
export function runDetUnits(units: readonly DetBackboneUnit[], flow: DetFlow, training: boolean): DetFlow {
  let current = flow;
  for (const unit of units) {
    const next = unit.apply(current, training);
    if (current.h !== flow.h && !next.taps.includes(current.h)) current.h.dispose();
    current = next;
  }
  return current;
}

export function createDetector(config: DetectorConfig, seed: number): DetectorModel {
  const infos = describeDetector(config, 64);
  if (!Number.isInteger(seed)) throw new RangeError(`the weight seed must be an integer, got ${seed}`);
  const units: DetBackboneUnit[] = [];
  let cin = config.widths[0];
  infos.forEach((info, i) => {
    if (info.kind === 'stem') units.push(new Stem(info, config.channels, config.widths[0], new Init(mixSeed(seed, i))));
    else if (info.kind === 'block') {
      const width = (info.output as number[])[2]!;
      units.push(new Block(info, createStageBlock(info.stage, info.block === 0, cin, width, mixSeed(seed, i))));
      cin = width;
    }
  });
  const tail = new DetTail(infos.at(-1)!, config, new Init(mixSeed(seed, infos.length)));
  return {
    config: { ...config },
    seed,
    units,
    tail,
    levels: pyramidLevels(config),
    forward: (images, training) =>
      tf.tidy(() => {
        const flow = runDetUnits(units, { h: images, taps: [null, null, null] }, training);
        return tail.apply(flow.taps);
      }),
    trainableVariables: () => [...units.flatMap((u) => u.trainableVariables), ...tail.trainableVariables],
    stateVariables: () => units.flatMap((u) => u.stateVariables),
    dispose: () => {
      for (const u of units) u.dispose();
      tail.dispose();
    },
  };
}
