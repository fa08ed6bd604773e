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
import type { SgdNesterov } from './sgd';

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
}

export interface TrainerModule {
  units: UnitModel[];
  /** The local head, or null for the last module (trained by the network's own head). */
  head: LocalHead | null;
}

export interface StepGradients {
  grads: Map<tf.Variable, tf.Tensor>;
  /** Each module's loss value, in order. */
  losses: number[];
}

export class LocalTrainer {
  readonly modules: TrainerModule[];

  constructor(options: LocalTrainerOptions) {
    const { model, method } = options;
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
  }

  /** Every variable the optimiser updates: backbone and auxiliary nets. */
  trainableVariables(): tf.Variable[] {
    return this.modules.flatMap((m) => [...m.units.flatMap((u) => u.trainableVariables), ...(m.head?.trainableVariables ?? [])]);
  }

  /** Variables of module `index` and its head: the only ones its loss may reach. */
  moduleVariables(index: number): tf.Variable[] {
    const m = this.modules[index]!;
    return [...m.units.flatMap((u) => u.trainableVariables), ...(m.head?.trainableVariables ?? [])];
  }

  /**
   * Every module's local gradients for one batch (x normalised NHWC, y int32 labels). The
   * caller owns the returned gradient tensors. Module i's input is module i-1's output as a
   * constant: gradients never cross a cut.
   */
  computeGradients(x: tf.Tensor4D, y: tf.Tensor1D): StepGradients {
    const grads = new Map<tf.Variable, tf.Tensor>();
    const losses: number[] = [];
    let h: tf.Tensor4D = x;
    this.modules.forEach((module, i) => {
      const variables = this.moduleVariables(i);
      let output: tf.Tensor4D | undefined;
      const { value, grads: byName } = tf.variableGrads(() => {
        let z: tf.Tensor = h;
        for (const unit of module.units) z = unit.apply(z as tf.Tensor4D, true);
        if (!module.head) return crossEntropy(z as tf.Tensor2D, y);
        // Kept past the tape: the next module's constant input.
        output = tf.keep(z as tf.Tensor4D);
        return module.head.loss(z as tf.Tensor4D, x, y);
      }, variables);
      losses.push(value.dataSync()[0]!);
      value.dispose();
      for (const variable of variables) {
        const grad = byName[variable.name];
        if (grad) grads.set(variable, grad);
      }
      if (h !== x) h.dispose();
      if (output) h = output;
    });
    return { grads, losses };
  }

  /** One simultaneous step: all local gradients, then one optimiser update. Returns the module losses. */
  step(x: tf.Tensor4D, y: tf.Tensor1D, optimizer: SgdNesterov): number[] {
    const { grads, losses } = this.computeGradients(x, y);
    try {
      optimizer.step(grads);
    } finally {
      tf.dispose([...grads.values()]);
    }
    return losses;
  }

  dispose(): void {
    for (const m of this.modules) m.head?.dispose();
  }
}
