/**
 * MAN, Momentum Auxiliary Network (methods.md 2), on a DGL or InfoPro base, as the MAN CIFAR code
 * trains it:
 *
 *   segments E_0..E_{K'-1} (stem fused into E_0); for each cut i = 0..K'-2 let B be the first
 *   block of segment i+1. The auxiliary net reads h_i = E_i(sg h_{i-1}) through
 *     u_i = LB_i(h_i) + EMA_i(h_i)
 *   where EMA_i has B's architecture, gets no gradient, and after the step's gradients tracks B's
 *   pre-step weights: theta_EMA <- m theta_EMA + (1 - m) theta_B (conv weights and BN gamma/beta;
 *   its BN running statistics are its own). LB_i ("learnable bias") is a trainable block of the
 *   same architecture. Both start from their own random init, as the code's deep copies do.
 *   On u_i: InfoPro base  L_i = lambda_x BCE(Dec(u_i), x~) + lambda_y CE(Aux(u_i), y), Aux 2c2f;
 *           DGL base      L_i = CE(DGLHead(u_i), y).
 *   The last segment: CE of the real head. The gradient of L_i flows through EMA_i's frozen
 *   weights into E_i; B itself gets nothing from L_i.
 *
 * Readings (defaults = code, but for the λ index): bias 'block' (code), 'vector' (the paper's
 * learnable bias b_j, one value per channel), 'none' (EMA only, the ablation). Lambda schedule
 * 'module' (default, as InfoPro/HPFF: r = i / (K - 2)) or 'stage' (the code: r is the stage of B
 * over K - 2, clamped to 1; for K < 5 most cuts then get the end weights, (0, 0) by default, and
 * their modules no gradient: the settings check refuses that, shared/engine/gradient-reach.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Normalization } from '../../data/preprocess';
import type { Cut } from '../../../shared/engine/splits';
import { type AuxConfig, createAuxClassifier } from '../aux/aux-classifier';
import { createDecoder } from '../aux/decoder';
import { createDglHead } from '../aux/dgl-head';
import { crossEntropy } from '../aux/losses';
import { createBlock, type ResNetModel, type UnitModel } from '../nets/resnet-model';
import { type Execution, GradientSink, partsObjective } from '../train/loss-parts';
import { accumulateGradients, type PhaseHook, runUnits, type StepGradients, sumLosses } from '../train/trainer';
import type { AddonBase } from './hpff';
import { type InfoProLambdas, type LocalHead, reconstructionPart, taskPart } from './local-heads';
import { type ManLambdaIndex, manWeights } from '../../../shared/engine/loss-weights';
import { StemFusedTrainer } from './segments';

export const MAN_BIASES = ['block', 'vector', 'none'] as const;
export type ManBias = (typeof MAN_BIASES)[number];

export interface ManOptions {
  base: AddonBase;
  /** EMA decay m (README 0.995). */
  decay: number;
  bias: ManBias;
  lambdaIndex: ManLambdaIndex;
  auxConfig: AuxConfig;
  lambdas: InfoProLambdas;
}

export const MAN_DEFAULTS: Omit<ManOptions, 'base'> = {
  decay: 0.995,
  bias: 'block',
  lambdaIndex: 'module',
  auxConfig: '2c2f',
  lambdas: { ixx1: 5, ixy1: 0.5, ixx2: 0, ixy2: 0 },
};

export interface ManTrainerOptions {
  model: ResNetModel;
  cuts: readonly Cut[];
  normalization: Normalization;
  seed: number;
  execution?: Execution;
  man: Partial<ManOptions> & { base: AddonBase; stem?: 'fused' | 'apart' };
}

/** The momentum auxiliary net at one cut: EMA copy of the next block, learnable bias, heads on u. */
interface MomentumNet {
  /** The next segment's first block B, whose weights the EMA tracks. */
  next: UnitModel;
  ema: UnitModel;
  block?: UnitModel;
  vector?: tf.Variable<tf.Rank.R1>;
  heads: LocalHead;
}

export class ManTrainer extends StemFusedTrainer {
  readonly options: ManOptions;
  private readonly nets: MomentumNet[];
  private readonly execution: Execution;
  private readonly sink = new GradientSink();

  constructor(options: ManTrainerOptions) {
    const { model } = options;
    super(model, options.cuts, `${options.man.base}+man`, options.man.stem);
    this.options = { ...MAN_DEFAULTS, ...options.man };
    const { decay } = this.options;
    if (!(decay >= 0 && decay <= 1)) throw new RangeError(`MAN's EMA decay m must be in [0, 1], got ${decay}`);
    this.execution = options.execution ?? 'reference';
    this.nets = this.trunk.slice(0, -1).map((units, i) => this.createNet(model, units.at(-1)!.unit.output[2]!, this.trunk[i + 1]![0]!, i, options));
  }

  private createNet(model: ResNetModel, inChannels: number, next: UnitModel, i: number, options: ManTrainerOptions): MomentumNet {
    const seed = options.seed * 1000 + 10 * i;
    const width = next.unit.output[2]!;
    const { base, bias, auxConfig } = this.options;
    let heads: LocalHead;
    if (base === 'dgl') {
      const dgl = createDglHead({ inChannels: width, classes: model.classes, seed: seed + 3 });
      heads = { parts: (_x, y) => [taskPart('dgl head', dgl, y, 'cross_entropy', 1)], trainableVariables: dgl.trainableVariables, stateVariables: dgl.stateVariables, dispose: () => dgl.dispose() };
    } else {
      const classifier = createAuxClassifier({ inChannels: width, config: auxConfig, lossMode: 'cross_entropy', classes: model.classes, seed: seed + 3 });
      const decoder = createDecoder({ inChannels: width, imageHeight: model.input.height, imageWidth: model.input.width, imageChannels: model.input.channels, seed: seed + 4 });
      const { ixx, ixy } = this.weights(i, next.unit.stage);
      heads = {
        parts: (x, y) => [reconstructionPart(decoder, x, options.normalization, ixx), taskPart('classifier', classifier, y, 'cross_entropy', ixy)],
        trainableVariables: [...decoder.trainableVariables, ...classifier.trainableVariables],
        stateVariables: [...decoder.stateVariables, ...classifier.stateVariables],
        dispose: () => {
          decoder.dispose();
          classifier.dispose();
        },
      };
    }
    return {
      next,
      ema: createBlock(next.unit, inChannels, seed + 1),
      ...(bias === 'block' ? { block: createBlock(next.unit, inChannels, seed + 2) } : {}),
      ...(bias === 'vector' ? { vector: tf.variable(tf.zeros([width]), true) as tf.Variable<tf.Rank.R1> } : {}),
      heads,
    };
  }

  /** lambda_x, lambda_y at cut i whose next block sits in `stage`. */
  weights(i: number, stage: number): { ixx: number; ixy: number } {
    return manWeights(this.options.lambdas, this.options.lambdaIndex, i, stage, this.nominalK);
  }

  /** Trainable variables of the auxiliary net at cut i (learnable bias and heads; never the EMA). */
  auxVariables(i: number): tf.Variable[] {
    const net = this.nets[i]!;
    return [...(net.block?.trainableVariables ?? []), ...(net.vector ? [net.vector] : []), ...net.heads.trainableVariables];
  }

  /** The EMA copy's weights at cut i: updated by momentum, never by gradients. */
  emaVariables(i: number): tf.Variable[] {
    return this.nets[i]!.ema.trainableVariables;
  }

  trainableVariables(): tf.Variable[] {
    return [...this.segments.flatMap((_, j) => this.segmentVariables(j)), ...this.nets.flatMap((_, i) => this.auxVariables(i))];
  }

  auxiliaryState(): tf.Variable[] {
    return this.nets.flatMap((net) => [
      ...net.ema.trainableVariables,
      ...net.ema.stateVariables,
      ...(net.block ? [...net.block.trainableVariables, ...net.block.stateVariables] : []),
      ...(net.vector ? [net.vector] : []),
      ...net.heads.trainableVariables,
      ...net.heads.stateVariables,
    ]);
  }

  /** Per cut: the L2 distance between the EMA weights and the next block's, the quantity methods.md 6.4 logs. */
  emaGaps(): number[] {
    return this.nets.map((net) =>
      tf.tidy(() => {
        const pairs = net.ema.trainableVariables.map((v, k) => tf.sum(tf.square(tf.sub(v, net.next.trainableVariables[k]!))));
        return Math.sqrt(tf.addN(pairs).dataSync()[0]!);
      }),
    );
  }

  private momentumInput(net: MomentumNet, h: tf.Tensor4D): tf.Tensor4D {
    const ema = net.ema.apply(h, true) as tf.Tensor4D;
    if (net.block) return tf.add(net.block.apply(h, true), ema);
    if (net.vector) return tf.add(ema, net.vector);
    return ema;
  }

  /** One loss per segment: L_i for the cuts, the real head's CE for the last. One phase per segment. */
  computeGradients(x: tf.Tensor4D, y: tf.Tensor1D, onPhase?: PhaseHook): StepGradients {
    const grads = new Map<tf.Variable, tf.Tensor>();
    const losses: tf.Scalar[] = [];
    let input: tf.Tensor4D = x;
    this.trunk.forEach((units, i) => {
      onPhase?.(i);
      const net = this.nets[i];
      let output: tf.Tensor4D | undefined;
      const value = accumulateGradients(
        grads,
        () => {
          const h = runUnits(units, input) as tf.Tensor4D;
          if (!net) return crossEntropy(this.head.apply(h, true) as tf.Tensor2D, y);
          output = tf.keep(h);
          return partsObjective(this.momentumInput(net, h), net.heads.parts(x, y), this.execution, this.sink);
        },
        [...this.segmentVariables(i), ...(net ? this.auxVariables(i) : [])],
        [this.sink],
      );
      losses.push(sumLosses(value, this.sink.takeValue()));
      if (input !== x) input.dispose();
      if (output) input = output;
    });
    return { grads, losses };
  }

  /** theta_EMA <- m theta_EMA + (1 - m) theta_B with B's pre-step weights (the code updates before optimizer.step). */
  protected override beforeUpdate(): void {
    const m = this.options.decay;
    tf.tidy(() => {
      for (const net of this.nets) {
        net.ema.trainableVariables.forEach((v, k) => v.assign(tf.add(tf.mul(v, m), tf.mul(net.next.trainableVariables[k]!, 1 - m))));
      }
    });
  }

  dispose(): void {
    this.sink.dispose();
    for (const net of this.nets) {
      net.ema.dispose();
      net.block?.dispose();
      net.vector?.dispose();
      net.heads.dispose();
    }
  }
}
