/**
 * The trainable CIFAR-style ResNet-n (../../../../shared/docs/methods.md 0.1) as an ordered list
 * of units (stem, BasicBlocks, head) matching shared/engine/resnet.ts describeResNet unit for
 * unit. Each unit runs on its own, so a local-learning trainer can cut after any block, stop
 * gradients between modules and differentiate each local loss with respect to exactly its own
 * variables. Plain tfjs-core ops and tf.Variables, no tf.layers: the trainer owns every variable.
 * Weights come from a seeded JS generator, so one seed gives identical weights on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng, mixSeed } from '../../data/random';
import { describeResNet, type InputShape, type Unit } from '../../../shared/engine/resnet';
import { BatchNorm } from './batch-norm';

export interface UnitModel {
  /** The description this unit implements (kind, stage, block, output shape, params). */
  readonly unit: Unit;
  /**
   * Run the unit on `x` [N, H, W, C]. Stem and blocks return [N, H', W', C']; the head takes
   * the stage-3 feature map and returns logits [N, classes]. Training mode uses batch
   * statistics and updates the BatchNorm running statistics.
   */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor;
  /** Conv weights, BatchNorm gamma/beta, linear weights/bias: what an optimiser updates. */
  readonly trainableVariables: tf.Variable[];
  /** BatchNorm running statistics: state, not trained by gradients. */
  readonly stateVariables: tf.Variable[];
  dispose(): void;
}

export interface ResNetModel {
  readonly depth: number;
  readonly input: InputShape;
  readonly classes: number;
  readonly seed: number;
  /** In describeResNet order: stem, blocks stage by stage, head. */
  readonly units: UnitModel[];
  /** All units in order: logits [N, classes]. */
  forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
  trainableVariables(): tf.Variable[];
  stateVariables(): tf.Variable[];
  dispose(): void;
}

/** Seeded initialisers; each parameter gets its own stream, so the order of creation is its identity. */
export class Init {
  private count = 0;
  constructor(private readonly seed: number) {}

  private next(): () => number {
    return createRng(mixSeed(this.seed, this.count++));
  }

  /** N(0, std^2) by Box-Muller from the seeded uniform stream. */
  normal(shape: number[], std: number): tf.Variable {
    const rng = this.next();
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i += 2) {
      const u1 = 1 - rng(); // in (0, 1]: log(u1) is finite
      const u2 = rng();
      const r = Math.sqrt(-2 * Math.log(u1)) * std;
      values[i] = r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < values.length) values[i + 1] = r * Math.sin(2 * Math.PI * u2);
    }
    return tf.tidy(() => tf.variable(tf.tensor(values, shape), true));
  }

  /** U(-bound, bound). */
  uniform(shape: number[], bound: number): tf.Variable {
    const rng = this.next();
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) values[i] = (2 * rng() - 1) * bound;
    return tf.tidy(() => tf.variable(tf.tensor(values, shape), true));
  }

  /** Conv filter [k, k, cin, cout] ~ N(0, 2 / (k*k*cout)), the InfoPro/DGL ResNet init (fan-out He). */
  conv(k: number, cin: number, cout: number): tf.Variable<tf.Rank.R4> {
    return this.normal([k, k, cin, cout], Math.sqrt(2 / (k * k * cout))) as tf.Variable<tf.Rank.R4>;
  }
}

/** PyTorch pad=1 on both sides. TF 'same' with stride 2 on an even size pads only bottom/right. */
const PAD_ONE: [[0, 0], [1, 1], [1, 1], [0, 0]] = [[0, 0], [1, 1], [1, 1], [0, 0]];
/** 3x3 conv, PyTorch padding 1; 'same' is exactly that at stride 1 (and cheaper to name). */
const conv3x3 = (x: tf.Tensor4D, w: tf.Tensor4D, stride: number): tf.Tensor4D => tf.conv2d(x, w, stride, stride === 1 ? 'same' : PAD_ONE);

function checkInput(x: tf.Tensor, unit: Unit, channels: number): asserts x is tf.Tensor4D {
  if (x.rank !== 4 || x.shape[3] !== channels) {
    throw new Error(`${unit.kind} (stage ${unit.stage}, block ${unit.block}) expects [N, H, W, ${channels}], got [${x.shape.join(',')}]`);
  }
}

class Stem implements UnitModel {
  private readonly weight: tf.Variable<tf.Rank.R4>;
  private readonly bn: BatchNorm;

  constructor(
    readonly unit: Unit,
    private readonly inChannels: number,
    width: number,
    init: Init,
  ) {
    this.weight = init.conv(3, inChannels, width);
    this.bn = new BatchNorm(width);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    checkInput(x, this.unit, this.inChannels);
    return tf.tidy(() => this.bn.apply(conv3x3(x, this.weight, 1), training, { relu: true }));
  }

  get trainableVariables(): tf.Variable[] {
    return [this.weight, ...this.bn.trainableVariables];
  }

  get stateVariables(): tf.Variable[] {
    return this.bn.stateVariables;
  }

  dispose(): void {
    this.weight.dispose();
    this.bn.dispose();
  }
}

class BasicBlock implements UnitModel {
  private readonly w1: tf.Variable<tf.Rank.R4>;
  private readonly bn1: BatchNorm;
  private readonly w2: tf.Variable<tf.Rank.R4>;
  private readonly bn2: BatchNorm;
  /** 1x1 conv + BN when the shape changes, as methods.md 0.1; otherwise identity. */
  private readonly shortcut?: { weight: tf.Variable<tf.Rank.R4>; bn: BatchNorm };

  constructor(
    readonly unit: Unit,
    private readonly inChannels: number,
    width: number,
    private readonly stride: number,
    init: Init,
  ) {
    this.w1 = init.conv(3, inChannels, width);
    this.bn1 = new BatchNorm(width);
    this.w2 = init.conv(3, width, width);
    this.bn2 = new BatchNorm(width);
    if (stride !== 1 || inChannels !== width) this.shortcut = { weight: init.conv(1, inChannels, width), bn: new BatchNorm(width) };
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    checkInput(x, this.unit, this.inChannels);
    return tf.tidy(() => {
      // dropout(p=0) of the reference BasicBlock is the identity and is left out.
      const h = this.bn1.apply(conv3x3(x, this.w1, this.stride), training, { relu: true });
      // A 1x1 conv with PyTorch padding 0 is TF 'valid': floor((H - 1) / s) + 1, like the 3x3 path.
      // The shortcut runs before bn2 (PyTorch runs it after) so that bn2 can fuse the sum and
      // ReLU; BatchNorms only update their own statistics, so the order changes nothing.
      const skip = this.shortcut ? this.shortcut.bn.apply(tf.conv2d(x, this.shortcut.weight, this.stride, 'valid'), training) : x;
      return this.bn2.apply(conv3x3(h, this.w2, 1), training, { residual: skip, relu: true });
    });
  }

  get trainableVariables(): tf.Variable[] {
    const own = [this.w1, ...this.bn1.trainableVariables, this.w2, ...this.bn2.trainableVariables];
    return this.shortcut ? [...own, this.shortcut.weight, ...this.shortcut.bn.trainableVariables] : own;
  }

  get stateVariables(): tf.Variable[] {
    return [...this.bn1.stateVariables, ...this.bn2.stateVariables, ...(this.shortcut?.bn.stateVariables ?? [])];
  }

  dispose(): void {
    tf.dispose([this.w1, this.w2]);
    this.bn1.dispose();
    this.bn2.dispose();
    if (this.shortcut) {
      this.shortcut.weight.dispose();
      this.shortcut.bn.dispose();
    }
  }
}

class Head implements UnitModel {
  private readonly weight: tf.Variable<tf.Rank.R2>;
  private readonly bias: tf.Variable<tf.Rank.R1>;

  constructor(
    readonly unit: Unit,
    private readonly inChannels: number,
    classes: number,
    init: Init,
  ) {
    // PyTorch's nn.Linear default: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    // Stored [in, out] (x @ W), the transpose of PyTorch's [out, in].
    const bound = 1 / Math.sqrt(inChannels);
    this.weight = init.uniform([inChannels, classes], bound) as tf.Variable<tf.Rank.R2>;
    this.bias = init.uniform([classes], bound) as tf.Variable<tf.Rank.R1>;
  }

  /** No BatchNorm or dropout in the head: both modes compute the same. */
  apply(x: tf.Tensor4D, _training: boolean): tf.Tensor2D {
    checkInput(x, this.unit, this.inChannels);
    return tf.tidy(() => tf.add(tf.matMul(tf.mean(x, [1, 2]) as tf.Tensor2D, this.weight), this.bias));
  }

  get trainableVariables(): tf.Variable[] {
    return [this.weight, this.bias];
  }

  get stateVariables(): tf.Variable[] {
    return [];
  }

  dispose(): void {
    tf.dispose([this.weight, this.bias]);
  }
}

/**
 * A stand-alone BasicBlock with the architecture of `unit` (a block of describeResNet) reading
 * `inChannels`, weights fixed by `seed`: MAN's learnable-bias and EMA copies of the next block.
 */
export function createBlock(unit: Unit, inChannels: number, seed: number): UnitModel {
  if (unit.kind !== 'block') throw new Error(`createBlock needs a residual block, got the ${unit.kind}`);
  return new BasicBlock(unit, inChannels, unit.output[2]!, blockStride(unit), new Init(seed));
}

/** Mirrors describeResNet: the first block of stages 2 and 3 downsamples. */
export const blockStride = (unit: Unit): number => (unit.block === 0 && unit.stage > 1 ? 2 : 1);

/** Build ResNet-`depth` for `input` images and `classes` classes, weights fixed by `seed`. */
export function createResNet(depth: number, input: InputShape, classes: number, seed: number): ResNetModel {
  if (!Number.isInteger(seed)) throw new RangeError(`the weight seed must be an integer, got ${seed}`);
  const described = describeResNet(depth, input, classes);
  const init = new Init(seed);
  const units: UnitModel[] = [];
  try {
    let channels = input.channels;
    for (const unit of described) {
      if (unit.kind === 'stem') {
        const width = unit.output[2]!;
        units.push(new Stem(unit, channels, width, init));
        channels = width;
      } else if (unit.kind === 'block') {
        const width = unit.output[2]!;
        units.push(new BasicBlock(unit, channels, width, blockStride(unit), init));
        channels = width;
      } else {
        units.push(new Head(unit, channels, classes, init));
      }
    }
  } catch (error) {
    for (const u of units) u.dispose();
    throw error;
  }
  return {
    depth,
    input: { ...input },
    classes,
    seed,
    units,
    forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
      return tf.tidy(() => {
        let h: tf.Tensor = x;
        for (const u of units) h = u.apply(h as tf.Tensor4D, training);
        return h as tf.Tensor2D;
      });
    },
    trainableVariables: () => units.flatMap((u) => u.trainableVariables),
    stateVariables: () => units.flatMap((u) => u.stateVariables),
    dispose() {
      for (const u of units) u.dispose();
    },
  };
}
