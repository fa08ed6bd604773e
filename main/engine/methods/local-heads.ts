/**
 * The local loss at a cut, per method (methods.md 4.1-4.2): what auxiliary network reads the
 * module's output h and which loss trains it.
 *   greedy   AuxClassifier 0c1f (GAP + linear), cross-entropy
 *   dgl      the group's DGL head (pool to 8x8, 1x1 convs, MLP), cross-entropy
 *   infopro  L_i = lambda1(i) * BCE(Dec(h), x~) + lambda2(i) * task(Aux(h)), task = SupCon
 *            (contrast) or CE (softmax); lambdas interpolated from module 1 to module K-1
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Normalization } from '../../data/preprocess';
import { type AuxConfig, type AuxLossMode, createAuxClassifier } from '../aux/aux-classifier';
import { createDecoder, type Decoder, reconstructionLoss } from '../aux/decoder';
import { createDglHead } from '../aux/dgl-head';
import { crossEntropy, supConLoss } from '../aux/losses';
import type { LossPart } from '../train/loss-parts';

export type LocalMethod = 'greedy' | 'dgl' | 'infopro';

/** InfoPro's weights: ixx (reconstruction, -I(h,x)) and ixy (task, -I(h,y)) at module 1 and module K-1. */
export interface InfoProLambdas {
  ixx1: number;
  ixy1: number;
  ixx2: number;
  ixy2: number;
}

export interface InfoProOptions {
  auxConfig: AuxConfig;
  lossMode: AuxLossMode;
  lambdas: InfoProLambdas;
}

export interface LocalHead {
  /** The module's local loss from its output h as weighted parts (the batch's images x and labels y as targets). */
  parts(x: tf.Tensor4D, y: tf.Tensor1D): LossPart[];
  readonly trainableVariables: tf.Variable[];
  readonly stateVariables: tf.Variable[];
  dispose(): void;
}

/** A classifier's task loss on h: cross-entropy of its logits, or SupCon of its features. */
export function taskPart(name: string, aux: { apply(h: tf.Tensor4D, training: boolean): tf.Tensor2D; trainableVariables: tf.Variable[] }, y: tf.Tensor1D, lossMode: AuxLossMode, weight: number): LossPart {
  return {
    name,
    weight,
    variables: aux.trainableVariables,
    loss: (h) => tf.tidy(() => (lossMode === 'contrast' ? supConLoss(aux.apply(h, true), y) : crossEntropy(aux.apply(h, true), y))),
  };
}

/** InfoPro's reconstruction term: BCE of the decoded h against the de-normalised image. */
export function reconstructionPart(decoder: Decoder, x: tf.Tensor4D, normalization: Normalization, weight: number): LossPart {
  return { name: 'decoder', weight, variables: decoder.trainableVariables, loss: (h) => reconstructionLoss(decoder.apply(h, true), x, normalization) };
}

/**
 * Defaults from InfoPro's CIFAR-10 ResNet-32 commands (methods.md 4.2), by the nearest K the
 * table has; the papers give none for the small nets, so they are a starting point, not a claim.
 */
export function defaultInfoProLambdas(k: number): InfoProLambdas {
  if (k <= 2) return { ixx1: 5, ixy1: 1, ixx2: 0, ixy2: 0 };
  if (k <= 5) return { ixx1: 6, ixy1: 0, ixx2: 1, ixy2: 2 };
  if (k <= 11) return { ixx1: 5, ixy1: 0, ixx2: 0, ixy2: 2 };
  return { ixx1: 5, ixy1: 0.05, ixx2: 0.2, ixy2: 0.5 };
}

/** The weights at position r in [0, 1]: lambda = lambda_1 (1 - r) + lambda_2 r. */
export function lambdasAt(lambdas: InfoProLambdas, r: number): { ixx: number; ixy: number } {
  return { ixx: lambdas.ixx1 * (1 - r) + lambdas.ixx2 * r, ixy: lambdas.ixy1 * (1 - r) + lambdas.ixy2 * r };
}

/** InfoPro's and HPFF's schedule over cuts: r = i / (K - 2), 0 when K = 2; cut i = 0..K-2. */
export function infoProWeights(lambdas: InfoProLambdas, cut: number, k: number): { ixx: number; ixy: number } {
  return lambdasAt(lambdas, k <= 2 ? 0 : cut / (k - 2));
}

export interface HeadContext {
  method: LocalMethod;
  /** Channels of the module output the head reads. */
  channels: number;
  classes: number;
  image: { height: number; width: number; channels: number };
  normalization: Normalization;
  /** Index of this cut (0-based) and the number of modules K. */
  cut: number;
  k: number;
  infopro: InfoProOptions;
  seed: number;
}

export function createLocalHead(ctx: HeadContext): LocalHead {
  switch (ctx.method) {
    case 'greedy': {
      const aux = createAuxClassifier({ inChannels: ctx.channels, config: '0c1f', lossMode: 'cross_entropy', classes: ctx.classes, seed: ctx.seed });
      return { parts: (_x, y) => [taskPart('classifier', aux, y, 'cross_entropy', 1)], trainableVariables: aux.trainableVariables, stateVariables: aux.stateVariables, dispose: () => aux.dispose() };
    }
    case 'dgl': {
      const head = createDglHead({ inChannels: ctx.channels, classes: ctx.classes, seed: ctx.seed });
      return { parts: (_x, y) => [taskPart('dgl head', head, y, 'cross_entropy', 1)], trainableVariables: head.trainableVariables, stateVariables: head.stateVariables, dispose: () => head.dispose() };
    }
    case 'infopro': {
      const { auxConfig, lossMode, lambdas } = ctx.infopro;
      const aux = createAuxClassifier({ inChannels: ctx.channels, config: auxConfig, lossMode, classes: ctx.classes, seed: ctx.seed });
      const decoder = createDecoder({ inChannels: ctx.channels, imageHeight: ctx.image.height, imageWidth: ctx.image.width, imageChannels: ctx.image.channels, seed: ctx.seed + 1 });
      const { ixx, ixy } = infoProWeights(lambdas, ctx.cut, ctx.k);
      return {
        parts: (x, y) => [reconstructionPart(decoder, x, ctx.normalization, ixx), taskPart('classifier', aux, y, lossMode, ixy)],
        trainableVariables: [...aux.trainableVariables, ...decoder.trainableVariables],
        stateVariables: [...aux.stateVariables, ...decoder.stateVariables],
        dispose: () => {
          aux.dispose();
          decoder.dispose();
        },
      };
    }
  }
}
