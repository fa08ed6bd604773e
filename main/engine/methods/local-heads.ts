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
import { defaultInfoProLambdas, infoProWeights, type InfoProLambdas, lambdasAt } from '../../../shared/engine/loss-weights';

// The weight schedules live with the settings check that reads them too.
export { defaultInfoProLambdas, infoProWeights, type InfoProLambdas, lambdasAt };

export type LocalMethod = 'greedy' | 'dgl' | 'infopro';

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
