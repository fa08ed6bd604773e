/**
 * What the task trainers (./super-resolution/sr-trainer.ts, ./detection/det-trainer.ts) share:
 * the net cut into modules by the method (one for e2e), every module but the last trained by its
 * own auxiliary head, GLCAN's global branch shared by those heads, and one Adam step over every
 * module's gradients. How a module's loss and gradients are computed is the task's own.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StepGradients } from '../train/trainer';
import { srModuleRanges } from './super-resolution/edsr';

export type TaskMethod = 'e2e' | 'local' | 'glcan';
export const TASK_METHODS: readonly TaskMethod[] = ['e2e', 'local', 'glcan'];

export interface TaskModule {
  units: readonly { trainableVariables: tf.Variable[] }[];
  /** The auxiliary net (what its loss alone trains, what it shares with the other heads), or null for the last module. */
  head: { readonly ownVariables: tf.Variable[]; readonly sharedVariables: tf.Variable[]; dispose(): void } | null;
}

/**
 * The modules' unit ranges (first unit = 0, block b = 1 + b, last = blocks + 1): all in one for
 * e2e, else ending after each cut. `task` and `block` name them in the refusals.
 */
export function methodModuleRanges(method: TaskMethod, blocks: number, cuts: readonly number[], names: { task: string; block: string }): { first: number; last: number }[] {
  if (!TASK_METHODS.includes(method)) throw new Error(`Unknown ${names.task} method "${method}": use e2e, local or glcan.`);
  const ranges = method === 'e2e' ? [{ first: 0, last: blocks + 1 }] : srModuleRanges(blocks, cuts);
  if (method !== 'e2e' && ranges.length < 2) throw new Error(`${method} needs at least one cut (a ${names.block} index from 0 to ${blocks - 1}); with none it is end-to-end training.`);
  return ranges;
}

export abstract class TaskTrainer<M extends TaskModule> {
  abstract readonly modules: M[];
  /** GLCAN's global branch (shared by every local module's auxiliary net); null otherwise. */
  abstract readonly global: { readonly variables: tf.Variable[]; dispose(): void } | null;

  /** The net's variables a module trains: its units (the detector's last module adds the real tail). */
  protected netVariables(module: M): tf.Variable[] {
    return module.units.flatMap((u) => u.trainableVariables);
  }

  /** Every variable the optimiser updates: the net, auxiliary nets, GLCAN's global branch once. */
  trainableVariables(): tf.Variable[] {
    return [...this.modules.flatMap((m) => [...this.netVariables(m), ...(m.head?.ownVariables ?? [])]), ...(this.global?.variables ?? [])];
  }

  /** The variables module `index`'s loss trains: its part of the net, its auxiliary net, and GLCAN's global branch (all but the last module). */
  moduleVariables(index: number): tf.Variable[] {
    const m = this.modules[index];
    if (!m) throw new RangeError(`module ${index} does not exist: this trainer has ${this.modules.length} modules`);
    return [...this.netVariables(m), ...(m.head?.ownVariables ?? []), ...(m.head?.sharedVariables ?? [])];
  }

  /** One optimiser update with a step's gradients, which it frees; returns the step's losses (the caller owns them). */
  protected update({ grads, losses }: StepGradients, optimizer: tf.Optimizer): tf.Scalar[] {
    try {
      // tf.train optimisers find each variable by its (unique, engine-registered) name.
      optimizer.applyGradients(Object.fromEntries([...grads].map(([v, g]) => [v.name, g])));
    } finally {
      tf.dispose([...grads.values()]);
    }
    return losses;
  }

  dispose(): void {
    for (const m of this.modules) m.head?.dispose();
    this.global?.dispose();
  }
}

/** Adam as both tasks train (beta 0.9 / 0.999, eps 1e-8); the learning rate is a setting (EDSR: 1e-4). */
export const createTaskOptimizer = (learningRate: number): tf.Optimizer => tf.train.adam(learningRate, 0.9, 0.999, 1e-8);
