/**
 * The local loss of a detection module that is not the last: an auxiliary net turns the module's
 * output into detections and the FCOS loss (./fcos.ts) against the image's boxes trains the module
 * and that net. The last module is trained by the real head's loss.
 *
 *   'local'  DGL-style (Belilovsky et al. 2020, methods.md 4: a small auxiliary net per module):
 *            a 1x1 conv + ReLU (to the module's own width by default: the map is high-resolution,
 *            so a wider head would cost more memory than the module), then an FCOS head with one
 *            conv per tower, predicting on the module's own map only, at its stride; every box is a target
 *            of that one level (regression range (0, inf), center sampling as the real head).
 *   'glcan'  see ./glcan-det.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Init } from '../../nets/resnet-model';
import { Conv } from '../super-resolution/edsr';
import type { LabelledBox } from './boxes';
import { type DetOutput, FcosHead, type LevelSpec } from './detector';
import { assignTargets, fcosLoss } from './fcos';

/** What the trainer gives an auxiliary net besides the boxes. */
export interface DetAuxInput {
  /** The module's output map [N, H, W, C] (live: the loss reaches the module through it). */
  h: tf.Tensor4D;
  /** The pyramid taps C3, C4, C5 made so far: earlier modules' as constants (GLCAN's feature bank), this module's live; null where not made yet. */
  taps: readonly (tf.Tensor4D | null)[];
}

export interface DetLocalHead {
  /** The levels the net predicts on (their strides and regression ranges). */
  readonly levels: LevelSpec[];
  predict(input: DetAuxInput, training: boolean): DetOutput;
  /** FCOS loss of predict(input) against the boxes of each image of a size x size batch. */
  loss(input: DetAuxInput, boxes: readonly (readonly LabelledBox[])[], size: number): tf.Scalar;
  /** Variables this module's loss alone trains. */
  readonly ownVariables: tf.Variable[];
  /** Variables shared with other modules' heads (GLCAN's global branch); empty for 'local'. */
  readonly sharedVariables: tf.Variable[];
  /** BatchNorm running statistics of the net (GLCAN's SLM blocks); not trained by gradients. */
  readonly stateVariables: tf.Variable[];
  dispose(): void;
}

/** An auxiliary net's loss: its predictions against FCOS targets on its own levels. */
export function auxLoss(head: Pick<DetLocalHead, 'levels' | 'predict'>, input: DetAuxInput, boxes: readonly (readonly LabelledBox[])[], size: number): tf.Scalar {
  return tf.tidy(() => fcosLoss(head.predict(input, true), assignTargets(boxes, head.levels, size)));
}

export interface DglHeadOptions {
  /** Channels of the module's output map. */
  inChannels: number;
  /** Its stride. */
  stride: number;
  width: number;
  classes: number;
  /** Convs per tower (default 1). */
  towerConvs: number;
  seed: number;
}

export function createDglDetHead(options: DglHeadOptions): DetLocalHead {
  const { inChannels, stride, width, classes, towerConvs, seed } = options;
  const init = new Init(seed);
  const project = new Conv(inChannels, width, init, 1);
  const head = new FcosHead(width, classes, towerConvs, init);
  const levels: LevelSpec[] = [{ stride, min: 0, max: Infinity }];
  const self: DetLocalHead = {
    levels,
    predict: ({ h }) => tf.tidy(() => head.apply([project.apply(h, true)], [stride])),
    loss: (input, boxes, size) => auxLoss(self, input, boxes, size),
    ownVariables: [...project.variables, ...head.variables],
    sharedVariables: [],
    stateVariables: [],
    dispose: () => {
      project.dispose();
      head.dispose();
    },
  };
  return self;
}
