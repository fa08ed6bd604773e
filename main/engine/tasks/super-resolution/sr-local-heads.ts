/**
 * The local loss of a super-resolution module that is not the last: an auxiliary net turns the
 * module's output map into an SR image, and the L1 distance to the HR image trains the module and
 * that net. The last module is trained by the real tail's L1 (../../../../shared/docs/methods.md
 * 3.1: the per-block reading of Zeudfish/Local-SR).
 *
 *   'local'  the simple per-block head: n x conv3x3 F -> F (ReLU between them, none after the
 *            last, as inside an EDSR ResBlock) -> EDSR upsampler -> conv F -> 3 -> add the RGB mean.
 *            Local-SR's AuxSR is 3 convs + upsampler + conv + add-mean; where its ReLUs sit is not
 *            recorded in methods.md, so the ResBlock's placement is used.
 *   'glcan'  see ./glcan-sr.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Init } from '../../nets/resnet-model';
import { Conv, Reconstruction, type SrScale } from './edsr';

/** Mean absolute error, EDSR's and Local-SR's loss (torch.nn.L1Loss, mean over every value). */
export function l1Loss(sr: tf.Tensor4D, hr: tf.Tensor4D): tf.Scalar {
  if (!tf.util.arraysEqual(sr.shape, hr.shape)) throw new Error(`L1 loss: the SR output [${sr.shape.join(',')}] and the HR image [${hr.shape.join(',')}] differ in shape`);
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(sr, hr))) as tf.Scalar);
}

/** What the trainer gives an auxiliary net besides the module's output. */
export interface SrAuxInput {
  /** The module's output map [N, H, W, F] (live: the loss reaches the module through it). */
  h: tf.Tensor4D;
  /**
   * The feature bank: the head's output F0 of this step, the early full-LR-resolution map
   * (a constant after module 0; module 0's own, live, for module 0).
   */
  bank: tf.Tensor4D;
  hr: tf.Tensor4D;
}

export interface SrLocalHead {
  /** The auxiliary SR image. */
  predict(input: Omit<SrAuxInput, 'hr'>): tf.Tensor4D;
  /** L1(predict(input), hr). */
  loss(input: SrAuxInput): tf.Scalar;
  /** Variables this module's loss alone trains. */
  readonly ownVariables: tf.Variable[];
  /** Variables shared with other modules' heads (GLCAN's global branch); empty for 'local'. */
  readonly sharedVariables: tf.Variable[];
  dispose(): void;
}

export interface SimpleHeadOptions {
  features: number;
  scale: SrScale;
  /** Convs before the upsampler (Local-SR: 3). */
  convs: number;
  seed: number;
}

/** The simple per-block local head ('local'): convs + upsampler + conv + mean, L1 against HR. */
export function createSimpleSrHead(options: SimpleHeadOptions): SrLocalHead {
  const { features, scale, convs, seed } = options;
  if (!(Number.isInteger(convs) && convs >= 0 && convs <= 16)) throw new Error(`The local head's conv count must be a whole number from 0 to 16 (got ${convs}).`);
  const init = new Init(seed);
  const layers = Array.from({ length: convs }, () => new Conv(features, features, init));
  const reconstruction = new Reconstruction(features, scale, init);
  const predict = ({ h }: { h: tf.Tensor4D }) =>
    tf.tidy(() => {
      const z = layers.reduce((x, conv, i) => conv.apply(x, i < layers.length - 1), h);
      return reconstruction.apply(z);
    });
  return {
    predict,
    loss: (input) => tf.tidy(() => l1Loss(predict(input), input.hr)),
    ownVariables: [...layers.flatMap((l) => l.variables), ...reconstruction.variables],
    sharedVariables: [],
    dispose: () => {
      for (const l of layers) l.dispose();
      reconstruction.dispose();
    },
  };
}
