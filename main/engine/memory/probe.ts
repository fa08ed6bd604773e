/**
 * The memory probe: peak tensor bytes of one piece of work (a training step), whole and per
 * phase (a module's, or an HPFF window's, part of the step), measured one way for every method
 * with TF.js's own accounting (tf.profile, which samples the live total after every kernel).
 * PLATFORM.md found it tracks real growth on wasm and is the same on every backend, so figures
 * from different backends and methods compare. Every figure stored names this method.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PhaseHook } from '../train/trainer';

export const MEMORY_METHOD = 'tf.profile peakBytes';

export interface MemoryPeak {
  /** Highest total of live tensor bytes during the work, tensors alive before it included (weights, optimiser state). */
  peakBytes: number;
  /** The peak above what was alive when the work started: the activations, gradients and temporaries it needed. */
  peakAboveStartBytes: number;
  /** Bytes still alive after the work that were not before (a leak, or state the work created on purpose). */
  retainedBytes: number;
  /** Peak live bytes within each phase the work announced (empty if it announced none). */
  phasePeakBytes: number[];
}

/** The kernels tf.profile has recorded so far (tfjs-core keeps them on the engine while profiling). */
function kernelsSoFar(): number {
  return (tf.engine() as unknown as { state: { activeProfile: { kernels: unknown[] } } }).state.activeProfile.kernels.length;
}

/** Profile `work`; it may call the hook it is given when it moves on to its next phase (0, 1, ...). */
export async function measurePeak(work: (onPhase: PhaseHook) => unknown): Promise<MemoryPeak> {
  const before = tf.memory().numBytes;
  const starts: number[] = [];
  const info = await tf.profile(async () => {
    await work((phase) => {
      starts[phase] = kernelsSoFar();
    });
  });
  // TF.js samples the total after each kernel; work that ran no kernel peaks where it started.
  const peakOf = (from: number, to: number) => info.kernels.slice(from, to).reduce((peak, k) => Math.max(peak, k.totalBytesSnapshot), before);
  const peak = Number.isFinite(info.peakBytes) ? Math.max(info.peakBytes, before) : before;
  return {
    peakBytes: peak,
    peakAboveStartBytes: peak - before,
    retainedBytes: tf.memory().numBytes - before,
    phasePeakBytes: starts.map((start, i) => peakOf(start, starts[i + 1] ?? info.kernels.length)),
  };
}
