/**
 * Which variables data-parallel training moves, as the coordinator and every worker list them
 * (each builds the same model and trainer from the same settings, so the lists match position
 * for position): the whole training state in a checkpoint's order (the state handed over at
 * each epoch), the trainable variables (their gradients are summed), and the rest of the state
 * (BatchNorm running statistics of the backbone and auxiliary nets, MAN's EMA copies), which is
 * averaged over the workers after every step so that every replica holds the same state.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { TrainingState } from '../train/checkpoint';
import { variablesOf } from '../train/weights';

export interface DataParallelLayout {
  /** Model weights and statistics, then the trainer's auxiliary state: what a checkpoint saves. */
  state: tf.Variable[];
  /** What the optimiser updates (trainer.trainableVariables()). */
  trainable: tf.Variable[];
  /** state without trainable: averaged over the shards every step. */
  synced: tf.Variable[];
  /** Where each trainable variable's gradient starts in an all-reduce row (and where the synced values start, last). */
  gradientOffsets: number[];
  /** Where each synced variable starts in an all-reduce row. */
  syncedOffsets: number[];
  /** Values per all-reduce row. */
  length: number;
}

export function dataParallelLayout({ model, trainer }: Pick<TrainingState, 'model' | 'trainer'>): DataParallelLayout {
  const state = [...variablesOf(model), ...trainer.auxiliaryState()];
  const trainable = trainer.trainableVariables();
  const inState = new Set(state);
  const missing = trainable.find((v) => !inState.has(v));
  if (missing) throw new Error(`trainable variable '${missing.name}' is not part of the training state: data-parallel workers could not be handed it`);
  const isTrainable = new Set(trainable);
  const synced = state.filter((v) => !isTrainable.has(v));
  let at = 0;
  const gradientOffsets = trainable.map((v) => (at += v.size) - v.size);
  const syncedOffsets = synced.map((v) => (at += v.size) - v.size);
  return { state, trainable, synced, gradientOffsets, syncedOffsets, length: at };
}
