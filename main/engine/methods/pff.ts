/**
 * HPFF's Patch Feature Fusion on a cascade auxiliary net's input h (methods.md 1.1, 1.6), both
 * readings, as loss parts so a lean step back-propagates the patches one at a time:
 *
 *   code   (default, HPFF CIFAR code) h is split into 4 quadrants (rows [0, h/2) and [h/2, h),
 *          columns alike); quadrant q is bilinearly resized to its image quadrant's size and
 *          decoded by its *own* InfoPro decoder D_q; the loss is the sum of the 4 BCEs against
 *          the matching quadrants of the de-normalised image. The classifier is not patchified.
 *   paper  one auxiliary net shared by the n x n = 4 patches, outputs averaged: the reconstruction
 *          loss is the mean of the 4 quadrant BCEs with one shared decoder, and the classifier's
 *          logits are averaged over the 4 patches before its loss.
 *   none   no PFF: one decoder on the whole map (the "IL+CL" ablation).
 *
 * Feature-map quadrants follow the code's split (h // 2), so odd maps (MNIST's 7x7) work; the
 * image must have even sides so its quadrants match the decoders' size.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Normalization } from '../../data/preprocess';
import { createDecoder, type Decoder, reconstructionLoss } from '../aux/decoder';
import { crossEntropy } from '../aux/losses';
import type { LossPart } from '../train/loss-parts';

export const PFF_READINGS = ['code', 'paper', 'none'] as const;
export type PffReading = (typeof PFF_READINGS)[number];

/** The 4 quadrants of t [N, H, W, C] in the order top-left, top-right, bottom-left, bottom-right. */
export function quadrants(t: tf.Tensor4D): tf.Tensor4D[] {
  const [n, h, w, c] = t.shape;
  const rows = [[0, Math.floor(h / 2)], [Math.floor(h / 2), h - Math.floor(h / 2)]] as const;
  const cols = [[0, Math.floor(w / 2)], [Math.floor(w / 2), w - Math.floor(w / 2)]] as const;
  return rows.flatMap(([r0, rh]) => cols.map(([c0, cw]) => tf.slice(t, [0, r0, c0, 0], [n, rh, cw, c])));
}

export interface PffReconstruction {
  /** One loss part per quadrant (4), or one for the whole map ('none'); each weighted by `weight` as the reading says. */
  parts(x: tf.Tensor4D, normalization: Normalization, weight: number): LossPart[];
  readonly decoders: Decoder[];
  dispose(): void;
}

/** The cascade's reconstruction term under `reading`, for feature maps of `channels` channels. */
export function createPffReconstruction(options: { reading: PffReading; channels: number; image: { height: number; width: number; channels: number }; seed: number }): PffReconstruction {
  const { reading, channels, image, seed } = options;
  if (reading !== 'none' && (image.height % 2 || image.width % 2)) {
    throw new Error(`Patch Feature Fusion splits the image into quadrants, so its sides must be even; this data set's images are ${image.height}x${image.width}. Choose PFF "none" or an even image size.`);
  }
  const patch = reading === 'none' ? { height: image.height, width: image.width } : { height: image.height / 2, width: image.width / 2 };
  // Code: a decoder per quadrant; paper: one decoder shared by the quadrants; none: one for the whole map.
  const decoders = Array.from({ length: reading === 'code' ? 4 : 1 }, (_, q) =>
    createDecoder({ inChannels: channels, imageHeight: patch.height, imageWidth: patch.width, imageChannels: image.channels, seed: seed + q }),
  );
  return {
    decoders,
    parts(x, normalization, weight) {
      if (reading === 'none') {
        return [{ name: 'decoder', weight, variables: decoders[0]!.trainableVariables, loss: (h) => reconstructionLoss(decoders[0]!.apply(h, true), x, normalization) }];
      }
      return [0, 1, 2, 3].map((q) => {
        const decoder = decoders[reading === 'code' ? q : 0]!;
        return {
          name: `pff quadrant ${q + 1}`,
          // Code sums the 4 BCEs; the paper averages the patches' outputs.
          weight: reading === 'code' ? weight : weight / 4,
          variables: decoder.trainableVariables,
          loss: (h: tf.Tensor4D) => tf.tidy(() => reconstructionLoss(decoder.apply(quadrants(h)[q]!, true), quadrants(x)[q]!, normalization)),
        };
      });
    },
    dispose() {
      for (const d of decoders) d.dispose();
    },
  };
}

/** The paper reading's classifier: the same net on each of the 4 patches, logits averaged, then cross-entropy. */
export function patchAveragedCrossEntropy(classify: (h: tf.Tensor4D) => tf.Tensor2D, h: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => crossEntropy(tf.div(tf.addN(quadrants(h).map(classify)), 4) as tf.Tensor2D, y));
}
