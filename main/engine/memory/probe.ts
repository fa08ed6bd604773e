/**
 * The memory probe: peak tensor bytes of one piece of work (a training step, one module's
 * part of it), measured one way for every method with TF.js's own accounting (tf.profile,
 * which samples the live total after every kernel).
 * PLATFORM.md found it tracks real growth on wasm and is the same on every backend, so
 * figures from different backends and methods compare. Every figure stored names this method.
 */
import * as tf from '@tensorflow/tfjs-core';

export const MEMORY_METHOD = 'tf.profile peakBytes';

export interface MemoryPeak {
  /** Highest total of live tensor bytes during the work, tensors alive before it included (weights, optimiser state). */
  peakBytes: number;
  /** The peak above what was alive when the work started: the activations, gradients and temporaries it needed. */
  peakAboveStartBytes: number;
  /** Bytes still alive after the work that were not before (a leak, or state the work created on purpose). */
  retainedBytes: number;
}

export async function measurePeak(work: () => unknown): Promise<MemoryPeak> {
  const before = tf.memory().numBytes;
  const info = await tf.profile(async () => {
    await work();
  });
  // TF.js samples the total after each kernel; work that ran no kernel peaks where it started.
  const peak = Number.isFinite(info.peakBytes) ? Math.max(info.peakBytes, before) : before;
  return {
    peakBytes: peak,
    peakAboveStartBytes: peak - before,
    retainedBytes: tf.memory().numBytes - before,
  };
}
