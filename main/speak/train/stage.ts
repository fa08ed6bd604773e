/**
 * One training stage of the SPEAK model as the `talking-head` job runs it: SyncNet, then IRFD
 * (with its slider mappers), then the generator. Each model module exports a factory that builds
 * its stage from a ClipSet and its settings; the trainer (train-speak.ts) only calls step(),
 * counts, checkpoints and reports.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { Params } from '../model/nn';

export type SpeakStageName = 'syncnet' | 'irfd' | 'generator';

export const SPEAK_STAGE_ORDER: readonly SpeakStageName[] = ['syncnet', 'irfd', 'generator'];

export interface SpeakStage {
  name: SpeakStageName;
  /** Every variable this stage trains (and owns: it goes into checkpoints and the model file). */
  params: Params;
  /** Adam, lr 1e-4 by default (the paper); a setting. Its slots are checkpointed with getWeights. */
  optimizer: tf.Optimizer;
  /**
   * One optimiser step; returns every loss by name (e.g. { total, sync } or { total, id, cls,
   * pose, emo, self }). `step` counts from 0 within the stage. For an exact resume, draw the
   * batch and noise from (seed, step) rather than from a stream that lives between calls, and
   * pass minimize() an explicit var list in a stable order (params.trainable(), sorted by name):
   * Adam keeps its slots by position in that list.
   */
  step(step: number): Promise<Record<string, number>>;
  /**
   * Optional: variables this stage trains that live in other Params stores (e.g. the audio
   * encoder trained with the generator); checkpointed and saved in the model file with it.
   */
  extraParams?: Params[];
  /** Optional: other optimisers this stage steps (e.g. the discriminator's Adam); checkpointed with it. */
  extraOptimizers?: tf.Optimizer[];
  /** Optional: frames (or clips) per step, for the progress line's speed; 1 when absent. */
  batchSize?: number;
  /**
   * Optional: any other state a resume needs (e.g. an RNG position when batches come from a
   * stream), saved in checkpoints as JSON and handed back before the first step after a resume.
   */
  getState?(): unknown;
  setState?(state: unknown): void;
  /** Optional: free what the stage holds besides params and optimizer (cached tensors). */
  dispose?(): void;
}
