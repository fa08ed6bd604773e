/** Numbers for engine tests: deterministic inputs and tolerant comparisons. */
import { expect } from 'vitest';

/** Deterministic values in [-1, 1) (a 32-bit LCG), the same on every run and backend. */
export function values(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Largest |a - b| / max(1, |b|). */
export function maxError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}

/**
 * Two gradient maps agree on every variable of `variables` (both present, max relative error
 * below `tolerance`); returns the worst error seen.
 */
export function expectSameGradients(a: Map<unknown, { dataSync(): ArrayLike<number> }>, b: Map<unknown, { dataSync(): ArrayLike<number> }>, variables: readonly unknown[], tolerance: number): number {
  let worst = 0;
  for (const v of variables) {
    const ga = a.get(v);
    const gb = b.get(v);
    expect(ga, 'a gradient is missing').toBeDefined();
    expect(gb, 'a gradient is missing').toBeDefined();
    worst = Math.max(worst, maxError(Float32Array.from(ga!.dataSync()), Float32Array.from(gb!.dataSync())));
  }
  expect(worst).toBeLessThan(tolerance);
  return worst;
}

/** Whether two tensors hold exactly the same values (read synchronously: wasm/cpu tests). */
export function sameValues(a: { dataSync(): ArrayLike<number> }, b: { dataSync(): ArrayLike<number> }): boolean {
  const [va, vb] = [a.dataSync(), b.dataSync()];
  return va.length === vb.length && Array.prototype.every.call(va, (v: number, i: number) => v === vb[i]);
}
