/**
 * Which modules each pipeline stage trains. A pipeline runs at the pace of its slowest stage,
 * so the modules are grouped (in order: a stage hands its output to the next) to make the
 * largest group's cost as small as possible, by measured seconds per module, not by count: a
 * module with InfoPro's full-resolution decoder can cost several plain ones.
 */

/**
 * Sizes of `parts` contiguous, non-empty groups of `costs` whose largest sum is the smallest
 * possible (exact, by dynamic programming over split points). Ties go to the earliest split.
 */
export function balanceStages(costs: readonly number[], parts: number): number[] {
  const k = costs.length;
  if (!(Number.isInteger(parts) && parts >= 1 && parts <= k)) throw new RangeError(`${k} modules cannot fill ${parts} pipeline stages: use 1 to ${k} stages`);
  if (costs.some((c) => !(Number.isFinite(c) && c >= 0))) throw new RangeError(`module costs must be finite and non-negative, got [${costs.join(', ')}]`);
  const prefix = [0];
  for (const c of costs) prefix.push(prefix.at(-1)! + c);
  const sum = (from: number, to: number) => prefix[to]! - prefix[from]!;
  // worst[p][i]: the smallest possible largest group when the first i modules form p groups; cut[p][i]: where the last begins.
  const worst = Array.from({ length: parts + 1 }, () => new Array<number>(k + 1).fill(Infinity));
  const cut = Array.from({ length: parts + 1 }, () => new Array<number>(k + 1).fill(0));
  worst[0]![0] = 0;
  for (let p = 1; p <= parts; p++) {
    for (let i = p; i <= k; i++) {
      for (let m = p - 1; m < i; m++) {
        const value = Math.max(worst[p - 1]![m]!, sum(m, i));
        if (value < worst[p]![i]!) {
          worst[p]![i] = value;
          cut[p]![i] = m;
        }
      }
    }
  }
  const sizes: number[] = [];
  for (let p = parts, i = k; p >= 1; p--) {
    const m = cut[p]![i]!;
    sizes.unshift(i - m);
    i = m;
  }
  return sizes;
}

/** Check explicit group sizes against the module count; returns them. */
export function checkStageModules(sizes: readonly number[], modules: number): number[] {
  if (sizes.length === 0 || sizes.some((s) => !(Number.isInteger(s) && s >= 1)) || sizes.reduce((a, b) => a + b, 0) !== modules) {
    throw new RangeError(`stage module counts [${sizes.join(', ')}] must be whole numbers >= 1 summing to the ${modules} modules`);
  }
  return [...sizes];
}

/** Each stage's [first, last] module from group sizes. */
export function stageRanges(sizes: readonly number[]): [number, number][] {
  let first = 0;
  return sizes.map((size) => {
    const range: [number, number] = [first, first + size - 1];
    first += size;
    return range;
  });
}
