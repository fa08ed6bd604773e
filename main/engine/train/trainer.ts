/**
 * What every method's trainer offers the run loop: the backbone's gradient-isolated segments, the
 * variables the optimiser updates, and one step's gradients (methods.md 0.4: every local loss is
 * back-propagated, then a single optimiser step). The methods differ only in how they compute
 * the gradients: ./local-trainer.ts (e2e, greedy, DGL, InfoPro), ../methods/hpff.ts,
 * ../methods/man.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { UnitModel } from '../nets/resnet-model';
import type { GradientSink } from './loss-parts';
import type { SgdNesterov } from './sgd';

export interface StepGradients {
  grads: Map<tf.Variable, tf.Tensor>;
  /**
   * The step's loss values in the method's order (one per module, or per cascade for HPFF), as
   * tensors the caller owns: reading them is left to lossValues, asynchronously, because a GPU
   * backend (WebGPU in Node) cannot read synchronously.
   */
  losses: tf.Scalar[];
}

/** The loss values of a step, read without blocking; disposes the tensors. */
export async function lossValues(losses: tf.Scalar[]): Promise<number[]> {
  const values = await Promise.all(losses.map(async (loss) => (await loss.data())[0]!));
  tf.dispose(losses);
  return values;
}

/**
 * Told when the step moves on to its next piece of work (module, window): memory probes split
 * the step's peak by it. Phases are numbered 0, 1, ... in order.
 */
export type PhaseHook = (phase: number) => void;

export abstract class Trainer {
  /** The backbone's gradient-isolated segments in order: each one's units (the last holds the head). */
  abstract readonly segments: readonly (readonly UnitModel[])[];
  /** Every variable the optimiser updates: backbone and auxiliary nets. */
  abstract trainableVariables(): tf.Variable[];
  /** The step's gradients for a batch (x normalised NHWC, y int32 labels); the caller owns them. */
  abstract computeGradients(x: tf.Tensor4D, y: tf.Tensor1D, onPhase?: PhaseHook): StepGradients;
  /**
   * Every variable outside the backbone that training depends on, in a fixed order: auxiliary
   * nets' weights and BatchNorm statistics, MAN's EMA copies. A checkpoint saves these beside the model.
   */
  abstract auxiliaryState(): tf.Variable[];
  abstract dispose(): void;

  /** Runs after the gradients and before the optimiser applies them (MAN's EMA reads pre-step weights). */
  protected beforeUpdate(): void {}

  /** One simultaneous step: all local gradients, then one optimiser update. Returns the losses (see lossValues). */
  step(x: tf.Tensor4D, y: tf.Tensor1D, optimizer: SgdNesterov, onPhase?: PhaseHook): tf.Scalar[] {
    const { grads, losses } = this.computeGradients(x, y, onPhase);
    try {
      this.applyGradients(grads, optimizer);
    } finally {
      tf.dispose([...grads.values()]);
    }
    return losses;
  }

  /**
   * The update half of step(): what runs between the gradients and the optimiser, then the
   * optimiser. Data-parallel workers (../parallel/data-parallel-worker.ts) call it with the
   * gradients summed over every worker's shard. The caller keeps the gradients.
   */
  applyGradients(grads: Map<tf.Variable, tf.Tensor>, optimizer: SgdNesterov): void {
    this.beforeUpdate();
    optimizer.step(grads);
  }
}

/** The units in order on x, in training mode. */
export function runUnits(units: readonly UnitModel[], x: tf.Tensor4D): tf.Tensor {
  let z: tf.Tensor = x;
  for (const unit of units) z = unit.apply(z as tf.Tensor4D, true);
  return z;
}

/** Sum `grad` into `into` (the map owns what it holds). */
export function addGradient(into: Map<tf.Variable, tf.Tensor>, variable: tf.Variable, grad: tf.Tensor): void {
  const previous = into.get(variable);
  if (!previous) {
    into.set(variable, grad);
    return;
  }
  into.set(variable, tf.keep(tf.add(previous, grad)));
  tf.dispose([previous, grad]);
}

/**
 * The gradients of the scalar f with respect to `variables`, summed into `into`, together with
 * the gradients lean loss parts left in `sinks` during that backward pass. Returns f's value
 * (the caller owns it); the lean parts' values (they read 0 inside f) stay in their sinks.
 */
export function accumulateGradients(into: Map<tf.Variable, tf.Tensor>, f: () => tf.Scalar, variables: tf.Variable[], sinks: readonly GradientSink[]): tf.Scalar {
  const { value, grads } = tf.variableGrads(f, variables);
  for (const variable of variables) {
    const grad = grads[variable.name];
    if (grad) addGradient(into, variable, grad);
  }
  for (const sink of sinks) {
    for (const [variable, grad] of sink.grads) addGradient(into, variable, grad);
    sink.grads.clear();
  }
  return value;
}

/** The sum of `terms` (null ones skipped) as one new scalar; disposes the terms. */
export function sumLosses(...terms: (tf.Scalar | null)[]): tf.Scalar {
  const present = terms.filter((t): t is tf.Scalar => t !== null);
  const sum = tf.tidy(() => (present.length === 1 ? tf.clone(present[0]!) : tf.addN(present)) as tf.Scalar);
  tf.dispose(present);
  return sum;
}
