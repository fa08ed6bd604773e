/**
 * HPFF, Hierarchical Locally Supervised Learning with Patch Feature Fusion (methods.md 1), on a
 * DGL or InfoPro base, with the HPFF CIFAR code's exact gradients (methods.md 1.2):
 *
 *   segments E_0..E_{K'-1} (stem fused into E_0), h_j = E_j(h_{j-1}), h_{-1} = the image;
 *   independent  L_ind(j) = CE(IAN_j(E_j(sg h_{j-1}))), j = 1..K'-2; the last one uses the real head;
 *   cascade      L_cas(i) = lambda_x(i) PFF-reconstruction + lambda_y(i) CE(CAN_i(h_i)) on
 *                h_i = E_i(E_{i-1}(sg h_{i-2})), i = 1..K'-2; the last pair uses the real head;
 *   for every i = 1..K'-1 the code back-propagates w_x L_ind(i) + w_y L_cas(i) (0.001 / 0.999).
 * So theta_0 and the stem learn only from L_cas(1), theta_j from {L_ind(j), L_cas(j), L_cas(j+1)}.
 * On a DGL base the independent and cascade nets are DGL heads with cross-entropy (the paper's
 * DGL+HPFF); PFF then applies only in the paper reading (patch-averaged logits).
 *
 * Two executions, the same gradients (tested):
 *   reference  as the code runs: for each i the independent path forwards E_i again and the
 *              cascade path forwards E_{i-1} and E_i again (3 forwards per segment), all PFF
 *              quadrant graphs alive together;
 *   lean       one tape per window of segments (j, j+1) from the constant h_{j-1}: it carries
 *              L_ind(j) (reaching only theta_j) and L_cas(j+1) (reaching theta_j and theta_{j+1}),
 *              so each segment is forwarded twice, only two segments' activations are alive, and
 *              the auxiliary losses (each PFF quadrant, the classifiers) are back-propagated one
 *              at a time (./../train/loss-parts.ts).
 * A single forward per segment would need two different backward passes through one recorded
 * forward (theta_j takes L_ind(j) + L_cas(j) + L_cas(j+1), its input only L_cas(j)); TF.js frees
 * a tape after its one backward pass, so one segment forward more is the price of exactness.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Normalization } from '../../data/preprocess';
import type { Cut } from '../../../shared/engine/splits';
import { type AuxConfig, createAuxClassifier } from '../aux/aux-classifier';
import { createDglHead } from '../aux/dgl-head';
import { crossEntropy } from '../aux/losses';
import type { ResNetModel } from '../nets/resnet-model';
import { type Execution, GradientSink, type LossPart, partsObjective } from '../train/loss-parts';
import { accumulateGradients, type PhaseHook, runUnits, type StepGradients, sumLosses } from '../train/trainer';
import { infoProWeights, type InfoProLambdas, type LocalHead, taskPart } from './local-heads';
import { createPffReconstruction, patchAveragedCrossEntropy, type PffReading } from './pff';
import { StemFusedTrainer } from './segments';

export type AddonBase = 'infopro' | 'dgl';

export interface HpffOptions {
  base: AddonBase;
  pff: PffReading;
  /** w_x, the independent level's weight (code 0.001). */
  independentWeight: number;
  /** w_y, the cascade level's weight (code 0.999). */
  cascadeWeight: number;
  /** The auxiliary classifiers on an InfoPro base (code default 2c2f). */
  auxConfig: AuxConfig;
  /** lambda_x (reconstruction) and lambda_y (classifier) of the cascades, interpolated over i. */
  lambdas: InfoProLambdas;
}

export const HPFF_DEFAULTS: Omit<HpffOptions, 'base'> = {
  pff: 'code',
  independentWeight: 0.001,
  cascadeWeight: 0.999,
  auxConfig: '2c2f',
  lambdas: { ixx1: 5, ixy1: 0.5, ixx2: 0, ixy2: 0 },
};

export interface HpffTrainerOptions {
  model: ResNetModel;
  cuts: readonly Cut[];
  normalization: Normalization;
  seed: number;
  execution?: Execution;
  hpff: Partial<HpffOptions> & { base: AddonBase; stem?: 'fused' | 'apart' };
}

interface HeadSpec {
  model: ResNetModel;
  channels: number;
  normalization: Normalization;
  options: HpffOptions;
  seed: number;
}

/** An independent auxiliary net: CE of a 2c2f classifier (InfoPro base) or a DGL head. */
function independentNet({ model, channels, options, seed }: HeadSpec): LocalHead {
  const net =
    options.base === 'dgl'
      ? createDglHead({ inChannels: channels, classes: model.classes, seed })
      : createAuxClassifier({ inChannels: channels, config: options.auxConfig, lossMode: 'cross_entropy', classes: model.classes, seed });
  return { parts: (_x, y) => [taskPart('independent net', net, y, 'cross_entropy', 1)], trainableVariables: net.trainableVariables, stateVariables: net.stateVariables, dispose: () => net.dispose() };
}

/** A cascade auxiliary net at cut i: PFF reconstruction + classifier (InfoPro base) or a DGL head. */
function cascadeNet(spec: HeadSpec, cut: number, nominalK: number): LocalHead {
  const { model, channels, normalization, options, seed } = spec;
  const classifier =
    options.base === 'dgl'
      ? createDglHead({ inChannels: channels, classes: model.classes, seed })
      : createAuxClassifier({ inChannels: channels, config: options.auxConfig, lossMode: 'cross_entropy', classes: model.classes, seed });
  const patched = options.pff === 'paper';
  const classifierPart = (y: tf.Tensor1D, weight: number): LossPart =>
    patched
      ? { name: 'cascade classifier (patch-averaged)', weight, variables: classifier.trainableVariables, loss: (h) => patchAveragedCrossEntropy((q) => classifier.apply(q, true), h, y) }
      : taskPart('cascade classifier', classifier, y, 'cross_entropy', weight);
  if (options.base === 'dgl') {
    return { parts: (_x, y) => [classifierPart(y, 1)], trainableVariables: classifier.trainableVariables, stateVariables: classifier.stateVariables, dispose: () => classifier.dispose() };
  }
  const reconstruction = createPffReconstruction({ reading: options.pff, channels, image: model.input, seed: seed + 1 });
  const { ixx, ixy } = infoProWeights(options.lambdas, cut, nominalK);
  const decoders = reconstruction.decoders;
  return {
    parts: (x, y) => [...reconstruction.parts(x, normalization, ixx), classifierPart(y, ixy)],
    trainableVariables: [...decoders.flatMap((d) => d.trainableVariables), ...classifier.trainableVariables],
    stateVariables: [...decoders.flatMap((d) => d.stateVariables), ...classifier.stateVariables],
    dispose: () => {
      reconstruction.dispose();
      classifier.dispose();
    },
  };
}

export class HpffTrainer extends StemFusedTrainer {
  readonly options: HpffOptions;
  /** Independent and cascade nets of cuts 1..K'-2 (index 0 and K'-1 unused: no net / the real head). */
  private readonly independent: (LocalHead | undefined)[];
  private readonly cascade: (LocalHead | undefined)[];
  private readonly execution: Execution;
  private readonly independentSink = new GradientSink();
  private readonly cascadeSink = new GradientSink();

  constructor(options: HpffTrainerOptions) {
    const { model } = options;
    super(model, options.cuts, `${options.hpff.base}+hpff`, options.hpff.stem);
    this.options = { ...HPFF_DEFAULTS, ...options.hpff };
    this.execution = options.execution ?? 'reference';
    this.independent = [];
    this.cascade = [];
    for (let i = 1; i < this.trunk.length - 1; i++) {
      const spec = { model, channels: this.trunk[i]!.at(-1)!.unit.output[2]!, normalization: options.normalization, options: this.options, seed: options.seed * 1000 + 10 * i };
      this.independent[i] = independentNet(spec);
      this.cascade[i] = cascadeNet({ ...spec, seed: spec.seed + 5 }, i, this.nominalK);
    }
  }

  private get last(): number {
    return this.trunk.length - 1;
  }

  /** The independent (IAN) and cascade (CAN) nets' variables at cut i. */
  auxVariables(i: number): { independent: tf.Variable[]; cascade: tf.Variable[] } {
    return { independent: this.independent[i]?.trainableVariables ?? [], cascade: this.cascade[i]?.trainableVariables ?? [] };
  }

  trainableVariables(): tf.Variable[] {
    return [...this.segments.flatMap((_, j) => this.segmentVariables(j)), ...this.independent.flatMap((n) => n?.trainableVariables ?? []), ...this.cascade.flatMap((n) => n?.trainableVariables ?? [])];
  }

  auxiliaryState(): tf.Variable[] {
    return [...this.independent, ...this.cascade].flatMap((net) => (net ? [...net.trainableVariables, ...net.stateVariables] : []));
  }

  /** The unweighted L_ind(j) on h_j: the independent net's parts, or the real head's CE for the last segment. */
  private independentLoss(j: number, h: tf.Tensor, x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar {
    const net = this.independent[j];
    return net ? partsObjective(h as tf.Tensor4D, net.parts(x, y), this.execution, this.independentSink) : crossEntropy(this.head.apply(h as tf.Tensor4D, true) as tf.Tensor2D, y);
  }

  /** The unweighted L_cas(i) on h_i: the cascade net's parts, or the real head's CE for the last pair. */
  private cascadeLoss(i: number, h: tf.Tensor, x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar {
    const net = this.cascade[i];
    return net ? partsObjective(h as tf.Tensor4D, net.parts(x, y), this.execution, this.cascadeSink) : crossEntropy(this.head.apply(h as tf.Tensor4D, true) as tf.Tensor2D, y);
  }

  private weighted(independent: tf.Scalar | null, cascade: tf.Scalar | null): tf.Scalar {
    const { independentWeight: wx, cascadeWeight: wy } = this.options;
    const terms = [...(independent ? [tf.mul(independent, wx)] : []), ...(cascade ? [tf.mul(cascade, wy)] : [])];
    return (terms.length === 1 ? terms[0]! : tf.addN(terms)) as tf.Scalar;
  }

  private netVariables(i: number): tf.Variable[] {
    const { independent, cascade } = this.auxVariables(i);
    return [...independent, ...cascade];
  }

  /** One loss per cascade i = 1..K'-1: w_x L_ind(i) + w_y L_cas(i), what the code back-propagates at i. */
  computeGradients(x: tf.Tensor4D, y: tf.Tensor1D, onPhase?: PhaseHook): StepGradients {
    return this.execution === 'lean' ? this.leanGradients(x, y, onPhase) : this.referenceGradients(x, y, onPhase);
  }

  private referenceGradients(x: tf.Tensor4D, y: tf.Tensor1D, onPhase?: PhaseHook): StepGradients {
    const grads = new Map<tf.Variable, tf.Tensor>();
    const losses: tf.Scalar[] = [];
    onPhase?.(0);
    // The independent path starts at E_0(s); segment 0 has no independent net, so no tape.
    let independentIn = tf.tidy(() => runUnits(this.trunk[0]!, x)) as tf.Tensor4D;
    let cascadeIn: tf.Tensor4D = x;
    for (let i = 1; i <= this.last; i++) {
      if (i > 1) onPhase?.(i - 1);
      let independentOut: tf.Tensor4D | undefined;
      let cascadeMid: tf.Tensor4D | undefined;
      const value = accumulateGradients(
        grads,
        () => {
          const hInd = runUnits(this.trunk[i]!, independentIn);
          const mid = runUnits(this.trunk[i - 1]!, cascadeIn);
          const hCas = runUnits(this.trunk[i]!, mid as tf.Tensor4D);
          if (i < this.last) {
            independentOut = tf.keep(hInd as tf.Tensor4D);
            cascadeMid = tf.keep(mid as tf.Tensor4D);
          }
          return this.weighted(this.independentLoss(i, hInd, x, y), this.cascadeLoss(i, hCas, x, y));
        },
        [...this.segmentVariables(i - 1), ...this.segmentVariables(i), ...this.netVariables(i)],
        [this.independentSink, this.cascadeSink],
      );
      losses.push(sumLosses(value, this.independentSink.takeValue(), this.cascadeSink.takeValue()));
      independentIn.dispose();
      if (cascadeIn !== x) cascadeIn.dispose();
      if (independentOut && cascadeMid) {
        independentIn = independentOut;
        cascadeIn = cascadeMid;
      }
    }
    return { grads, losses };
  }

  private leanGradients(x: tf.Tensor4D, y: tf.Tensor1D, onPhase?: PhaseHook): StepGradients {
    const grads = new Map<tf.Variable, tf.Tensor>();
    // Cascade i's loss gathers L_ind(i) and L_cas(i) from different windows.
    const terms: (tf.Scalar | null)[][] = Array.from({ length: this.last }, () => []);
    let input: tf.Tensor4D = x;
    // Window j: segments j and j+1 from the constant h_{j-1}, carrying L_ind(j) and L_cas(j+1).
    for (let j = 0; j < this.last; j++) {
      onPhase?.(j);
      let output: tf.Tensor4D | undefined;
      const value = accumulateGradients(
        grads,
        () => {
          const hj = runUnits(this.trunk[j]!, input);
          output = tf.keep(hj as tf.Tensor4D);
          const hNext = runUnits(this.trunk[j + 1]!, hj as tf.Tensor4D);
          return this.weighted(j >= 1 ? this.independentLoss(j, hj, x, y) : null, this.cascadeLoss(j + 1, hNext, x, y));
        },
        [...this.segmentVariables(j), ...this.segmentVariables(j + 1), ...this.netVariables(j), ...this.netVariables(j + 1)],
        [this.independentSink, this.cascadeSink],
      );
      // In-tape terms: the lean parts read 0 there, so value is the real head's term of the last pair.
      if (j >= 1) terms[j - 1]!.push(this.independentSink.takeValue());
      terms[j]!.push(this.cascadeSink.takeValue(), value);
      if (input !== x) input.dispose();
      input = output!;
    }
    onPhase?.(this.last);
    // The last segment's independent loss: the real head on E_{K'-1}(sg h_{K'-2}).
    terms[this.last - 1]!.push(accumulateGradients(grads, () => this.weighted(this.independentLoss(this.last, runUnits(this.trunk[this.last]!, input), x, y), null), this.segmentVariables(this.last), []));
    if (input !== x) input.dispose();
    return { grads, losses: terms.map((t) => sumLosses(...t)) };
  }

  dispose(): void {
    this.independentSink.dispose();
    this.cascadeSink.dispose();
    for (const net of [...this.independent, ...this.cascade]) net?.dispose();
  }
}
