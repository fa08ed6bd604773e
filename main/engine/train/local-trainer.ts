/**
 * One training step for every base method (methods.md 4.3, 0.4): the network is cut into
 * modules; each module runs on the previous module's output held constant, its local loss
 * (or, for the last module, the real head's cross-entropy) is differentiated with respect to
 * that module's and its auxiliary net's variables only, its activations are freed, and its
 * output is handed on. All gradients then go into a single optimiser step (simultaneous
 * local training). End-to-end is the same loop with one module.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Normalization } from '../../data/preprocess';
import type { Cut } from '../../../shared/engine/splits';
import { segmentsFor } from '../../../shared/engine/splits';
import { crossEntropy } from '../aux/losses';
import { createLocalHead, defaultInfoProLambdas, type InfoProOptions, type LocalHead, type LocalMethod } from '../methods/local-heads';
import type { ResNetModel, UnitModel } from '../nets/resnet-model';
import { type Execution, GradientSink, partsObjective } from './loss-parts';
import { accumulateGradients, type PhaseHook, runUnits, type StepGradients, sumLosses, Trainer } from './trainer';

export type BaseMethod = 'e2e' | LocalMethod;

export interface LocalTrainerOptions {
  model: ResNetModel;
  method: BaseMethod;
  /** InfoPro-style cut list; ignored (one module) for e2e. */
  cuts: readonly Cut[];
  /** The data set's normalisation: InfoPro's decoder reconstructs the de-normalised image. */
  normalization: Normalization;
  infopro?: Partial<InfoProOptions>;
  /** Seeds the auxiliary nets' weights. */
  seed: number;
  /** How the local loss parts are back-propagated (./loss-parts.ts); 'reference' by default. */
  execution?: Execution;
}

export interface TrainerModule {
  units: UnitModel[];
  /** The local head, or null for the last module (trained by the network's own head). */
  head: LocalHead | null;
}

export class LocalTrainer extends Trainer {
  readonly modules: TrainerModule[];
  readonly segments: UnitModel[][];
  private readonly execution: Execution;
  private readonly sink = new GradientSink();

  constructor(options: LocalTrainerOptions) {
    super();
    const { model, method } = options;
    this.execution = options.execution ?? 'reference';
    const ranges = method === 'e2e' ? [{ first: 0, last: model.units.length - 2 }] : segmentsFor(model.depth, options.cuts, 'infopro');
    const k = ranges.length;
    const infopro: InfoProOptions = {
      auxConfig: options.infopro?.auxConfig ?? '1c2f',
      lossMode: options.infopro?.lossMode ?? 'contrast',
      lambdas: options.infopro?.lambdas ?? defaultInfoProLambdas(k),
    };
    this.modules = ranges.map(({ first, last }, i) => {
      const isLast = i === k - 1;
      // The last module also owns the head unit (GAP + FC), which comes after the last block.
      const units = model.units.slice(first, isLast ? model.units.length : last + 1);
      const channels = units.at(-1)!.unit.output[2]!;
      const head =
        isLast || method === 'e2e'
          ? null
          : createLocalHead({
              method,
              channels,
              classes: model.classes,
              image: model.input,
              normalization: options.normalization,
              cut: i,
              k,
              infopro,
              seed: options.seed * 1000 + i,
            });
      return { units, head };
    });
    this.segments = this.modules.map((m) => m.units);
  }

  /** Every variable the optimiser updates: backbone and auxiliary nets. */
  trainableVariables(): tf.Variable[] {
    return this.modules.flatMap((m) => [...m.units.flatMap((u) => u.trainableVariables), ...(m.head?.trainableVariables ?? [])]);
  }

  auxiliaryState(): tf.Variable[] {
    return this.modules.flatMap((m) => (m.head ? [...m.head.trainableVariables, ...m.head.stateVariables] : []));
  }

  /** Variables of module `index` and its head: the only ones its loss may reach. */
  moduleVariables(index: number): tf.Variable[] {
    const m = this.modules[index]!;
    return [...m.units.flatMap((u) => u.trainableVariables), ...(m.head?.trainableVariables ?? [])];
  }

  /**
   * Every module's local gradients for one batch. Module i's input is module i-1's output as a
   * constant: gradients never cross a cut. One phase per module.
   */
  computeGradients(x: tf.Tensor4D, y: tf.Tensor1D, onPhase?: PhaseHook): StepGradients {
    const grads = new Map<tf.Variable, tf.Tensor>();
    const losses: tf.Scalar[] = [];
    let h: tf.Tensor4D = x;
    this.modules.forEach((module, i) => {
      onPhase?.(i);
      let output: tf.Tensor4D | undefined;
      const parts = module.head?.parts(x, y) ?? [];
      const loss = accumulateGradients(
        grads,
        () => {
          const z = runUnits(module.units, h);
          if (!module.head) return crossEntropy(z as tf.Tensor2D, y);
          // Kept past the tape: the next module's constant input.
          output = tf.keep(z as tf.Tensor4D);
          return partsObjective(z as tf.Tensor4D, parts, this.execution, this.sink);
        },
        this.moduleVariables(i),
        [this.sink],
      );
      losses.push(sumLosses(loss, this.sink.takeValue()));
      if (h !== x) h.dispose();
      if (output) h = output;
    });
    return { grads, losses };
  }

  dispose(): void {
    this.sink.dispose();
    for (const m of this.modules) m.head?.dispose();
  }
}
