/** A split held in memory as one buffer of HWC uint8 images, and the per-class counts every reader reports. */
import type { SplitSource } from './types';

export function memorySplit(pixels: Uint8Array, labels: Uint8Array, imageBytes: number): SplitSource {
  if (pixels.length !== labels.length * imageBytes) {
    throw new Error(`[data] ${labels.length} labels need ${labels.length * imageBytes} pixel bytes, got ${pixels.length}`);
  }
  return {
    length: labels.length,
    labels,
    read: async (indices) => {
      const out = new Uint8Array(indices.length * imageBytes);
      indices.forEach((sample, i) => {
        if (!Number.isInteger(sample) || sample < 0 || sample >= labels.length) throw new RangeError(`[data] sample ${sample} is outside 0..${labels.length - 1}`);
        out.set(pixels.subarray(sample * imageBytes, (sample + 1) * imageBytes), i * imageBytes);
      });
      return out;
    },
  };
}

/** Samples per class; every label must already be below `classCount`. */
export function countClasses(labels: ArrayLike<number>, classCount: number): number[] {
  const counts = new Array<number>(classCount).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]!++;
  return counts;
}
