/**
 * An EDSR-style super-resolution net (Lim et al. 2017, the EDSR baseline's layout) as an ordered
 * list of units, so it can be cut into gradient-isolated local modules like the ResNets
 * (../../nets/resnet-model.ts):
 *
 *   head   subtract the RGB mean, conv3x3 3 -> F                      (its output F0 is the global skip)
 *   block  x + resScale * conv3x3(relu(conv3x3(x))), no BatchNorm     (R of them)
 *   tail   conv3x3 F -> F (EDSR's body conv), + F0, upsampler, conv3x3 F -> 3, add the RGB mean
 *
 * The upsampler is EDSR's: x2 and x4 are one or two (conv F -> 4F, pixel shuffle 2) stages, x3 is
 * one (conv F -> 9F, pixel shuffle 3) stage, no activation. Images are RGB in [0, 1].
 * Plain tfjs-core ops and tf.Variables: the trainer owns every variable. Weights come from the
 * seeded initialiser the ResNets use, PyTorch's default conv init (U(+-1/sqrt(fan_in)) for weight
 * and bias), as EDSR's code leaves it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Init } from '../../nets/resnet-model';

export type SrScale = 2 | 3 | 4;
export const SR_SCALES: readonly SrScale[] = [2, 3, 4];

/** DIV2K's RGB mean on [0, 1], the mean EDSR's MeanShift subtracts and adds back. */
export const RGB_MEAN: readonly [number, number, number] = [0.4488, 0.4371, 0.404];

export interface EdsrConfig {
  scale: SrScale;
  /** Feature width F (EDSR baseline: 64). */
  features: number;
  /** Residual blocks R (EDSR baseline: 16). */
  blocks: number;
  /** Multiplier on each block's residual branch (EDSR baseline: 1; the wide EDSR: 0.1). */
  resScale: number;
}

export type SrUnitKind = 'head' | 'block' | 'tail';

export interface SrUnitInfo {
  kind: SrUnitKind;
  /** Block index 0..R-1; -1 for head and tail. */
  block: number;
  /** Output shape for an LR input of `lrSize` (H = W): [H, W, C]. */
  output: [number, number, number];
  params: number;
}

/**
 * The value passed along the net: the current map and the head's output F0 (the global skip the
 * tail adds; null before the head has run). Between local modules both arrive as constants.
 */
export interface SrFlow {
  h: tf.Tensor4D;
  skip: tf.Tensor4D | null;
}

export interface SrUnit {
  readonly info: SrUnitInfo;
  /** Run in the flow: the head sets skip; the tail returns the SR image as h. New tensors only where computed. */
  apply(flow: SrFlow): SrFlow;
  readonly trainableVariables: tf.Variable[];
  dispose(): void;
}

export class SrConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SrConfigError';
  }
}

export function validateEdsrConfig(config: EdsrConfig): EdsrConfig {
  if (!SR_SCALES.includes(config.scale)) throw new SrConfigError(`The scale must be 2, 3 or 4 (got ${config.scale}).`);
  if (!(Number.isInteger(config.features) && config.features >= 1 && config.features <= 1024)) {
    throw new SrConfigError(`The feature width must be a whole number from 1 to 1024 (got ${config.features}); EDSR's baseline uses 64.`);
  }
  if (!(Number.isInteger(config.blocks) && config.blocks >= 1 && config.blocks <= 256)) {
    throw new SrConfigError(`The number of residual blocks must be a whole number from 1 to 256 (got ${config.blocks}); EDSR's baseline uses 16.`);
  }
  if (!(config.resScale > 0 && config.resScale <= 1)) throw new SrConfigError(`The residual scaling must be in (0, 1] (got ${config.resScale}); EDSR uses 1, or 0.1 for its wide net.`);
  return config;
}

/** A 3x3 conv with bias, 'same' padding (PyTorch padding 1 at stride 1), PyTorch's default init. */
export class Conv {
  readonly weight: tf.Variable<tf.Rank.R4>;
  readonly bias: tf.Variable<tf.Rank.R1>;

  constructor(
    readonly cin: number,
    readonly cout: number,
    init: Init,
    readonly size = 3,
  ) {
    const bound = 1 / Math.sqrt(size * size * cin);
    this.weight = init.uniform([size, size, cin, cout], bound) as tf.Variable<tf.Rank.R4>;
    this.bias = init.uniform([cout], bound) as tf.Variable<tf.Rank.R1>;
  }

  apply(x: tf.Tensor4D, relu = false): tf.Tensor4D {
    return tf.fused.conv2d({ x, filter: this.weight, strides: 1, pad: 'same', bias: this.bias, activation: relu ? 'relu' : 'linear' });
  }

  get params(): number {
    return this.size * this.size * this.cin * this.cout + this.cout;
  }

  get variables(): tf.Variable[] {
    return [this.weight, this.bias];
  }

  dispose(): void {
    tf.dispose([this.weight, this.bias]);
  }
}

/**
 * PyTorch's PixelShuffle in NHWC with TF's depthToSpace channel order: [N, H, W, r*r*C] ->
 * [N, rH, rW, C], output (r*y + i, r*x + j, c) = input (y, x, (i*r + j)*C + c). Built from reshape
 * and a rank-4 transpose because tfjs-core has no gradient for DepthToSpace.
 */
export function pixelShuffle(x: tf.Tensor4D, r: number): tf.Tensor4D {
  const [n, h, w, depth] = x.shape;
  if (depth % (r * r) !== 0) throw new Error(`pixelShuffle by ${r} needs channels divisible by ${r * r}, got ${depth}`);
  const c = depth / (r * r);
  return tf.tidy(() => {
    // [N*H, W, i, (j, c)] -> [N*H, i, W, (j, c)]: rows of sub-pixel i next to each other.
    const split = tf.reshape(x, [n * h, w, r, r * c]);
    const rows = tf.transpose(split, [0, 2, 1, 3]);
    return tf.reshape(rows, [n, h * r, w * r, c]);
  });
}

/** EDSR's Upsampler: log2(scale) x (conv F -> 4F, shuffle 2) for 2 and 4, (conv F -> 9F, shuffle 3) for 3. */
export class Upsampler {
  readonly stages: { conv: Conv; r: number }[];

  constructor(features: number, scale: SrScale, init: Init) {
    const factors = scale === 3 ? [3] : scale === 2 ? [2] : [2, 2];
    this.stages = factors.map((r) => ({ conv: new Conv(features, r * r * features, init), r }));
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.stages.reduce((h, { conv, r }) => pixelShuffle(conv.apply(h), r), x));
  }

  get params(): number {
    return this.stages.reduce((s, { conv }) => s + conv.params, 0);
  }

  get variables(): tf.Variable[] {
    return this.stages.flatMap(({ conv }) => conv.variables);
  }

  dispose(): void {
    for (const { conv } of this.stages) conv.dispose();
  }
}

const meanTensor = () => tf.tensor1d([...RGB_MEAN]);

/** x - RGB mean (EDSR's sub_mean with std 1). */
export const subtractMean = (x: tf.Tensor4D): tf.Tensor4D => tf.tidy(() => tf.sub(x, meanTensor()));
/** x + RGB mean (add_mean). */
export const addMean = (x: tf.Tensor4D): tf.Tensor4D => tf.tidy(() => tf.add(x, meanTensor()));

function checkFlow(flow: SrFlow, channels: number, info: SrUnitInfo): void {
  const { h } = flow;
  if (h.rank !== 4 || h.shape[3] !== channels) throw new Error(`EDSR ${info.kind}${info.block >= 0 ? ` ${info.block}` : ''} expects [N, H, W, ${channels}], got [${h.shape.join(',')}]`);
}

class Head implements SrUnit {
  private readonly conv: Conv;
  constructor(
    readonly info: SrUnitInfo,
    features: number,
    init: Init,
  ) {
    this.conv = new Conv(3, features, init);
  }
  apply(flow: SrFlow): SrFlow {
    checkFlow(flow, 3, this.info);
    const f0 = tf.tidy(() => this.conv.apply(subtractMean(flow.h)));
    return { h: f0, skip: f0 };
  }
  get trainableVariables() {
    return this.conv.variables;
  }
  dispose() {
    this.conv.dispose();
  }
}

/** EDSR's ResBlock: x + resScale * conv(relu(conv(x))), no BatchNorm. */
export class ResBlock implements SrUnit {
  private readonly conv1: Conv;
  private readonly conv2: Conv;
  constructor(
    readonly info: SrUnitInfo,
    readonly features: number,
    private readonly resScale: number,
    init: Init,
  ) {
    this.conv1 = new Conv(features, features, init);
    this.conv2 = new Conv(features, features, init);
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const r = this.conv2.apply(this.conv1.apply(x, true));
      return tf.add(x, this.resScale === 1 ? r : tf.mul(r, this.resScale));
    });
  }
  apply(flow: SrFlow): SrFlow {
    checkFlow(flow, this.features, this.info);
    return { h: this.forward(flow.h), skip: flow.skip };
  }
  get trainableVariables() {
    return [...this.conv1.variables, ...this.conv2.variables];
  }
  get params() {
    return this.conv1.params + this.conv2.params;
  }
  dispose() {
    this.conv1.dispose();
    this.conv2.dispose();
  }
}

/**
 * The reconstruction half shared by the tail and the auxiliary heads: upsampler, conv F -> 3,
 * add the RGB mean. `apply` takes features at LR size and returns the SR image.
 */
export class Reconstruction {
  readonly upsampler: Upsampler;
  readonly conv: Conv;
  constructor(features: number, scale: SrScale, init: Init) {
    this.upsampler = new Upsampler(features, scale, init);
    this.conv = new Conv(features, 3, init);
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => addMean(this.conv.apply(this.upsampler.apply(x))));
  }
  get params() {
    return this.upsampler.params + this.conv.params;
  }
  get variables() {
    return [...this.upsampler.variables, ...this.conv.variables];
  }
  dispose() {
    this.upsampler.dispose();
    this.conv.dispose();
  }
}

class Tail implements SrUnit {
  private readonly body: Conv;
  private readonly reconstruction: Reconstruction;
  constructor(
    readonly info: SrUnitInfo,
    private readonly features: number,
    scale: SrScale,
    init: Init,
  ) {
    this.body = new Conv(features, features, init);
    this.reconstruction = new Reconstruction(features, scale, init);
  }
  apply(flow: SrFlow): SrFlow {
    checkFlow(flow, this.features, this.info);
    if (!flow.skip) throw new Error('The EDSR tail needs the head\'s output (the global skip); run the head first');
    const skip = flow.skip;
    return { h: tf.tidy(() => this.reconstruction.apply(tf.add(this.body.apply(flow.h), skip))), skip };
  }
  get trainableVariables() {
    return [...this.body.variables, ...this.reconstruction.variables];
  }
  dispose() {
    this.body.dispose();
    this.reconstruction.dispose();
  }
}

const convParams = (cin: number, cout: number) => 9 * cin * cout + cout;
const upsamplerParams = (f: number, scale: SrScale) => (scale === 3 ? convParams(f, 9 * f) : (scale === 2 ? 1 : 2) * convParams(f, 4 * f));

/** The units of an EDSR for LR inputs of lrSize x lrSize: what the split editor draws and a memory estimate reads. */
export function describeEdsr(config: EdsrConfig, lrSize: number): SrUnitInfo[] {
  const { features: f, blocks, scale } = validateEdsrConfig(config);
  const map: [number, number, number] = [lrSize, lrSize, f];
  return [
    { kind: 'head', block: -1, output: map, params: convParams(3, f) },
    ...Array.from({ length: blocks }, (_, b): SrUnitInfo => ({ kind: 'block', block: b, output: map, params: 2 * convParams(f, f) })),
    { kind: 'tail', block: -1, output: [lrSize * scale, lrSize * scale, 3], params: convParams(f, f) + upsamplerParams(f, scale) + convParams(f, 3) },
  ];
}

export interface EdsrModel {
  readonly config: EdsrConfig;
  readonly seed: number;
  /** head, blocks 0..R-1, tail. */
  readonly units: SrUnit[];
  /** LR [N, H, W, 3] in [0, 1] -> SR [N, sH, sW, 3] (not clipped). */
  forward(lr: tf.Tensor4D): tf.Tensor4D;
  trainableVariables(): tf.Variable[];
  dispose(): void;
}

/** Run `units` in order on `flow`; intermediate maps are freed, the returned flow's tensors are new (the input's are not disposed). */
export function runSrUnits(units: readonly SrUnit[], flow: SrFlow): SrFlow {
  let current = flow;
  for (const unit of units) {
    const next = unit.apply(current);
    if (current.h !== flow.h && current.h !== next.skip) current.h.dispose();
    current = next;
  }
  return current;
}

export function createEdsr(config: EdsrConfig, seed: number): EdsrModel {
  validateEdsrConfig(config);
  if (!Number.isInteger(seed)) throw new RangeError(`the weight seed must be an integer, got ${seed}`);
  const infos = describeEdsr(config, 1);
  const init = new Init(seed);
  const units: SrUnit[] = infos.map((info) => {
    if (info.kind === 'head') return new Head(info, config.features, init);
    if (info.kind === 'block') return new ResBlock(info, config.features, config.resScale, init);
    return new Tail(info, config.features, config.scale, init);
  });
  return {
    config: { ...config },
    seed,
    units,
    forward: (lr) => tf.tidy(() => runSrUnits(units, { h: lr, skip: null }).h),
    trainableVariables: () => units.flatMap((u) => u.trainableVariables),
    dispose: () => {
      for (const u of units) u.dispose();
    },
  };
}

/**
 * A split of an EDSR into local modules: each cut b (0-based residual block) ends a module right
 * after block b; the head always belongs to the first module and the tail to the last. Cutting
 * after the last block leaves the tail as a module of its own. Returns unit index ranges
 * (head = 0, block b = 1 + b, tail = R + 1).
 */
export function srModuleRanges(blocks: number, cuts: readonly number[]): { first: number; last: number }[] {
  const seen = new Set<number>();
  for (const c of cuts) {
    if (!Number.isInteger(c) || c < 0 || c >= blocks) throw new SrConfigError(`Cut ${JSON.stringify(c)} does not exist: cuts are residual block indices from 0 to ${blocks - 1} (a module ends after that block).`);
    if (seen.has(c)) throw new SrConfigError(`Cut ${c} is listed twice.`);
    seen.add(c);
  }
  const ends = [...cuts].sort((a, b) => a - b).map((c) => 1 + c);
  const tail = blocks + 1;
  return [...ends, tail].map((last, i, all) => ({ first: i === 0 ? 0 : all[i - 1]! + 1, last }));
}

/** K modules with the residual blocks shared as evenly as possible (earlier modules get the extra ones); the tail rides with the last. */
export function evenSrCuts(blocks: number, k: number): number[] {
  if (!(Number.isInteger(k) && k >= 1 && k <= blocks)) throw new SrConfigError(`K must be a whole number from 1 to the number of residual blocks (${blocks}); got ${k}.`);
  const cuts: number[] = [];
  let end = 0;
  for (let i = 0; i < k - 1; i++) {
    end += Math.ceil((blocks - end) / (k - i));
    cuts.push(end - 1);
  }
  return cuts;
}
