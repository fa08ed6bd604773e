/**
 * A stage's share of the training state, as the coordinator and the stage workers both list it:
 * every variable its modules own (units' weights and BatchNorm statistics, local heads' weights
 * and statistics) in module order, and the momentum buffers of those variables. Both sides build
 * the same model and trainer from the same settings, so the lists match position for position;
 * variable names differ between threads and are never used.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LocalTrainer } from '../train/local-trainer';
import type { SgdNesterov, SgdState } from '../train/sgd';
import type { WireSgd } from './protocol';

/** Every variable module `index` owns, trained or not. */
export function moduleStateVariables(trainer: LocalTrainer, index: number): tf.Variable[] {
  const module = trainer.modules[index]!;
  const head = module.head ? [...module.head.trainableVariables, ...module.head.stateVariables] : [];
  return [...module.units.flatMap((u) => [...u.trainableVariables, ...u.stateVariables]), ...head];
}

/** The variables of modules first..last, in module order. */
export function stageVariables(trainer: LocalTrainer, first: number, last: number): tf.Variable[] {
  const variables: tf.Variable[] = [];
  for (let i = first; i <= last; i++) variables.push(...moduleStateVariables(trainer, i));
  return variables;
}

/**
 * Every module's variables in module order, and where each module's start (K + 1 offsets):
 * stage first..last owns variables[offsets[first] .. offsets[last + 1]).
 */
export function moduleLayout(trainer: LocalTrainer): { variables: tf.Variable[]; offsets: number[] } {
  const variables: tf.Variable[] = [];
  const offsets = [0];
  trainer.modules.forEach((_, i) => {
    variables.push(...moduleStateVariables(trainer, i));
    offsets.push(variables.length);
  });
  return { variables, offsets };
}

/** The values of `variables`, concatenated (read asynchronously: a GPU backend cannot read synchronously). */
export async function readValues(variables: readonly tf.Variable[]): Promise<Float32Array> {
  const arrays = (await Promise.all(variables.map((v) => v.data()))) as Float32Array[];
  const all = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    all.set(a, at);
    at += a.length;
  }
  return all;
}

/** Assign what readValues gave (for the same list) to `variables`. */
export function writeValues(variables: readonly tf.Variable[], values: Float32Array): void {
  const expected = variables.reduce((n, v) => n + v.size, 0);
  if (values.length !== expected) throw new Error(`stage state has ${values.length} values; its ${variables.length} variables hold ${expected}`);
  let at = 0;
  tf.tidy(() => {
    for (const variable of variables) {
      // A copy: the CPU backend keeps the array a tensor is made from, and this buffer may be transferred on.
      variable.assign(tf.tensor(values.slice(at, at + variable.size), variable.shape, variable.dtype));
      at += variable.size;
    }
  });
}

/** The momentum buffers of `variables` (the optimiser must hold no others) as transferable arrays. */
export function sgdToWire(sgd: SgdNesterov, variables: readonly tf.Variable[]): WireSgd {
  const state = sgd.getState(variables);
  return { step: state.step, buffers: state.buffers.map((b) => ({ index: b.index!, values: new Float32Array(b.values) })) };
}

/** Replace the optimiser's buffers and step count with `wire`'s, for `variables` (the list sgdToWire used). */
export function sgdFromWire(sgd: SgdNesterov, wire: WireSgd, variables: readonly tf.Variable[]): void {
  const state: SgdState = {
    step: wire.step,
    buffers: wire.buffers.map(({ index, values }) => {
      const variable = variables[index];
      if (!variable) throw new Error(`stage optimiser state names variable ${index}; the stage has ${variables.length}`);
      return { name: variable.name, index, shape: [...variable.shape], values };
    }),
  };
  sgd.setState(state, variables);
}

/** Transferable buffers of a message's arrays. */
export function buffersOf(...arrays: (Float32Array | Int32Array | null | undefined)[]): ArrayBuffer[] {
  return arrays.filter((a): a is Float32Array | Int32Array => a != null).map((a) => a.buffer as ArrayBuffer);
}

/** `data` as an array that owns its whole buffer, safe to transfer (copied if it views a larger or shared one). */
export function ownedArray(data: Float32Array): Float32Array {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer ? data : data.slice();
}
