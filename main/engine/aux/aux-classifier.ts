/**
 * The CIFAR auxiliary classifier of InfoPro/HPFF/MAN (AuxClassifier in their networks code;
 * ../../../../shared/docs/methods.md 0.3), in the style of ../nets/resnet-model.ts: plain
 * tfjs-core ops and seeded tf.Variables, so a local-learning trainer owns every variable.
 *
 *   conv part  '0c*': none; '1c*': one 3x3 conv; '2c2f': two 3x3 convs. No conv bias, each conv
 *              followed by BN + ReLU. Width and stride by input width: 16 -> 32w (stride 2),
 *              32 -> 64w (stride 2), 64 -> 64w (stride 1); the second conv keeps the width.
 *   then       global average pool, flatten.
 *   MLP        '*1f': Linear(c -> out); '*2f': Linear(c -> d*w), ReLU, Linear(d*w -> out);
 *              '1c3f': two hidden d*w layers; '0c2f': Linear(C_in -> d), ReLU, Linear(d -> out).
 *   out        classes for cross_entropy, featureDim d for contrast.
 *
 * Contrast mode returns the raw features: the L2 normalisation that the reference applies
 * belongs to ./losses.ts supConLoss here (it normalises its input; normalising twice would be
 * the identity anyway).
 *
 * Init as the reference's init loop (methods.md 0.1): conv N(0, 2/(k*k*C_out)), BN 1/0,
 * Linear PyTorch default U(+-1/sqrt(fan_in)) for weight and bias.
 *
 * The small layer helpers (Linear, ConvBnRelu, PyTorch padding) are exported for the other
 * auxiliary heads in this folder.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm } from '../nets/batch-norm';
import { Init } from '../nets/resnet-model';

export const AUX_CONFIGS = ['0c1f', '0c2f', '1c1f', '1c2f', '1c3f', '2c2f'] as const;
export type AuxConfig = (typeof AUX_CONFIGS)[number];
export type AuxLossMode = 'cross_entropy' | 'contrast';

/** What every auxiliary head here offers a trainer. */
export interface AuxModule {
  readonly trainableVariables: tf.Variable[];
  /** BatchNorm running statistics: state, not trained by gradients. */
  readonly stateVariables: tf.Variable[];
  dispose(): void;
}

export interface AuxClassifier extends AuxModule {
  readonly config: AuxConfig;
  readonly lossMode: AuxLossMode;
  readonly inChannels: number;
  /** classes (cross_entropy) or featureDim (contrast). */
  readonly outputDim: number;
  /** h [N, H, W, inChannels] -> logits or (unnormalised) features [N, outputDim]. */
  apply(h: tf.Tensor4D, training: boolean): tf.Tensor2D;
}

export interface AuxClassifierOptions {
  inChannels: number;
  config: AuxConfig;
  lossMode: AuxLossMode;
  classes: number;
  widen?: number;
  featureDim?: number;
  seed: number;
}

/** PyTorch pad=1 on both sides; TF 'same' at stride 2 on an even size would pad only bottom/right. */
const PAD_ONE: [[0, 0], [1, 1], [1, 1], [0, 0]] = [[0, 0], [1, 1], [1, 1], [0, 0]];

/** k x k conv with PyTorch padding (k-1)/2: 'same' equals it at stride 1, 1x1 is 'valid'. */
export function torchConv(x: tf.Tensor4D, w: tf.Tensor4D, stride: number): tf.Tensor4D {
  const k = w.shape[0];
  if (k === 1) return tf.conv2d(x, w, stride, 'valid');
  if (k !== 3) throw new Error(`only 1x1 and 3x3 convs are used by the auxiliary nets, got ${k}x${k}`);
  return tf.conv2d(x, w, stride, stride === 1 ? 'same' : PAD_ONE);
}

/** Python's int(base * widen), refused when it leaves no unit. */
export function widened(base: number, widen: number, what: string): number {
  const n = Math.trunc(base * widen);
  if (!(n >= 1)) throw new RangeError(`${what}: ${base} x widen ${widen} gives ${n} units; widen must make it at least 1`);
  return n;
}

export function checkFeatureMap(x: tf.Tensor, channels: number, who: string): asserts x is tf.Tensor4D {
  if (x.rank !== 4 || x.shape[3] !== channels) throw new Error(`${who} expects [N, H, W, ${channels}], got [${x.shape.join(',')}]`);
}

export function checkPositiveInt(value: number, what: string): void {
  if (!(Number.isInteger(value) && value >= 1)) throw new RangeError(`${what} must be a positive whole number, got ${value}`);
}

/** nn.Linear with PyTorch's default init; weight stored [in, out] (x @ W), the transpose of PyTorch's. */
export class Linear {
  readonly weight: tf.Variable<tf.Rank.R2>;
  readonly bias: tf.Variable<tf.Rank.R1>;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    init: Init,
  ) {
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = init.uniform([inFeatures, outFeatures], bound) as tf.Variable<tf.Rank.R2>;
    this.bias = init.uniform([outFeatures], bound) as tf.Variable<tf.Rank.R1>;
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.weight), this.bias);
  }

  get variables(): tf.Variable[] {
    return [this.weight, this.bias];
  }

  dispose(): void {
    tf.dispose([this.weight, this.bias]);
  }
}

/** conv(k x k, stride, PyTorch padding) -> BN -> ReLU; conv weight N(0, 2/(k*k*C_out)). */
export class ConvBnRelu {
  readonly weight: tf.Variable<tf.Rank.R4>;
  /** nn.Conv2d's default bias init U(+-1/sqrt(C_in*k*k)); the reference's init loop leaves it. */
  readonly bias?: tf.Variable<tf.Rank.R1>;
  readonly bn: BatchNorm;

  constructor(
    k: number,
    cin: number,
    readonly cout: number,
    private readonly stride: number,
    init: Init,
    bias: boolean,
  ) {
    this.weight = init.conv(k, cin, cout);
    if (bias) this.bias = init.uniform([cout], 1 / Math.sqrt(cin * k * k)) as tf.Variable<tf.Rank.R1>;
    this.bn = new BatchNorm(cout);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const conv = torchConv(x, this.weight, this.stride);
    return tf.relu(this.bn.apply(this.bias ? tf.add(conv, this.bias) : conv, training));
  }

  get trainableVariables(): tf.Variable[] {
    return [this.weight, ...(this.bias ? [this.bias] : []), ...this.bn.trainableVariables];
  }

  dispose(): void {
    tf.dispose([this.weight, ...(this.bias ? [this.bias] : [])]);
    this.bn.dispose();
  }
}

/** Width and stride of the first conv by input width (methods.md 0.3). */
const CONV_PLAN: Readonly<Record<number, { base: number; stride: number }>> = {
  16: { base: 32, stride: 2 },
  32: { base: 64, stride: 2 },
  64: { base: 64, stride: 1 },
};

export function createAuxClassifier(options: AuxClassifierOptions): AuxClassifier {
  const { inChannels, config, lossMode, classes, widen = 1, featureDim = 128, seed } = options;
  if (!AUX_CONFIGS.includes(config)) throw new RangeError(`unknown AuxClassifier config '${String(config)}'; choose one of ${AUX_CONFIGS.join(', ')}`);
  if (lossMode !== 'cross_entropy' && lossMode !== 'contrast') throw new RangeError(`unknown AuxClassifier loss mode '${String(lossMode)}'; choose cross_entropy or contrast`);
  if (!Number.isInteger(seed)) throw new RangeError(`the weight seed must be an integer, got ${seed}`);
  checkPositiveInt(inChannels, 'AuxClassifier inChannels');
  checkPositiveInt(classes, 'AuxClassifier classes');
  checkPositiveInt(featureDim, 'AuxClassifier featureDim');
  if (!(widen > 0)) throw new RangeError(`AuxClassifier widen must be positive, got ${widen}`);

  const convCount = Number(config[0]);
  const linearCount = Number(config[2]);
  const outputDim = lossMode === 'contrast' ? featureDim : classes;
  const init = new Init(seed);
  const convs: ConvBnRelu[] = [];
  const linears: Linear[] = [];
  try {
    let channels = inChannels;
    if (convCount > 0) {
      const plan = CONV_PLAN[inChannels];
      if (!plan) throw new RangeError(`AuxClassifier '${config}' needs inChannels 16, 32 or 64 (the CIFAR ResNet stage widths), got ${inChannels}`);
      const width = widened(plan.base, widen, `AuxClassifier '${config}' conv width`);
      for (let i = 0; i < convCount; i++) {
        convs.push(new ConvBnRelu(3, channels, width, i === 0 ? plan.stride : 1, init, false));
        channels = width;
      }
    }
    // '0c2f' uses d itself, not d*w (methods.md 0.3); the others widen the hidden layers.
    const hidden = config === '0c2f' ? featureDim : widened(featureDim, widen, `AuxClassifier '${config}' hidden width`);
    for (let i = 0; i < linearCount; i++) {
      const out = i === linearCount - 1 ? outputDim : hidden;
      linears.push(new Linear(channels, out, init));
      channels = out;
    }
  } catch (error) {
    for (const m of [...convs, ...linears]) m.dispose();
    throw error;
  }

  return {
    config,
    lossMode,
    inChannels,
    outputDim,
    apply(h: tf.Tensor4D, training: boolean): tf.Tensor2D {
      checkFeatureMap(h, inChannels, `AuxClassifier '${config}'`);
      return tf.tidy(() => {
        let x = h;
        for (const c of convs) x = c.apply(x, training);
        let y = tf.mean(x, [1, 2]) as tf.Tensor2D;
        linears.forEach((l, i) => {
          y = l.apply(y);
          if (i < linears.length - 1) y = tf.relu(y);
        });
        return y;
      });
    },
    get trainableVariables() {
      return [...convs.flatMap((c) => c.trainableVariables), ...linears.flatMap((l) => l.variables)];
    },
    get stateVariables() {
      return convs.flatMap((c) => c.bn.stateVariables);
    },
    dispose() {
      for (const m of [...convs, ...linears]) m.dispose();
    },
  };
}
