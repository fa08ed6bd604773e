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

/**
 * Everything besides the model a LocalTrainer was built from, resolved (InfoPro's defaults
 * filled in): another thread builds an identical trainer from it (../parallel/).
 */
export interface LocalTrainerSettings {
  method: BaseMethod;
  cuts: readonly Cut[];
  normalization: Normalization;
  infopro: InfoProOptions;
  seed: number;
  execution: Execution;
}

/** One module's part of a step: its loss (the caller owns it) and, but for the last module, its output. */
export interface ModuleStep {
  loss: tf.Scalar;
  /** The next module's input (kept; the caller owns it), or null for the last module. */
  output: tf.Tensor4D | null;
}

export interface TrainerModule {
  units: UnitModel[];
  /** The local head, or null for the last module (trained by the network's own head). */
  head: LocalHead | null;
}

export class LocalTrainer extends Trainer {
  readonly modules: TrainerModule[];
  readonly segments: UnitModel[][];
  readonly settings: LocalTrainerSettings;
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
    this.settings = { method, cuts: [...options.cuts], normalization: options.normalization, infopro, seed: options.seed, execution: this.execution };
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
    this.modules.forEach((_, i) => {
      onPhase?.(i);
      const { loss, output } = this.moduleGradients(i, h, x, y, grads);
      losses.push(loss);
      if (h !== x) h.dispose();
      if (output) h = output;
    });
    return { grads, losses };
  }

  /**
   * Module `index`'s local gradients on its input h (module index-1's output, a constant; x for
   * the first module), summed into `grads`: what computeGradients does for one module, so a
   * pipeline (../parallel/) can run the modules of one step on different threads. x and y are
   * the batch's images and labels, the local heads' targets. h is not disposed.
   */
  moduleGradients(index: number, h: tf.Tensor4D, x: tf.Tensor4D, y: tf.Tensor1D, grads: Map<tf.Variable, tf.Tensor>): ModuleStep {
    const module = this.modules[index];
    if (!module) throw new RangeError(`module ${index} does not exist: this trainer has ${this.modules.length} modules`);
    let output: tf.Tensor4D | null = null;
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
      this.moduleVariables(index),
      [this.sink],
    );
    return { loss: sumLosses(loss, this.sink.takeValue()), output };
  }

  dispose(): void {
    this.sink.dispose();
    for (const m of this.modules) m.head?.dispose();
  }
}
