/**
 * Splitting a ResNet into local modules with InfoPro-style cut lists (methods.md 0.2): each
 * cut [stage, block] ends a module right after that block; [0, 0] cuts right after the stem.
 * The list holds the K-1 internal cuts; the last module always ends with the head.
 *
 * HPFF and MAN write their lists with the terminal cut included and always fuse the stem into
 * the first segment; `segmentsFor` gives the modules each reading trains, so one canonical
 * list serves every method.
 */
import { blocksPerStage } from './resnet';

export type Cut = readonly [stage: number, block: number];

export interface SplitPreset {
  id: string;
  label: string;
  cuts: readonly Cut[];
  /** Where the cut list comes from. */
  source: 'paper' | 'balanced-memory' | 'generated';
}

export class SplitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SplitError';
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const cutsOf = (stage: number, blocks: readonly number[]): Cut[] => blocks.map((b) => [stage, b] as const);

/**
 * Check a cut list for ResNet-`depth` and return it sorted. Throws a SplitError saying which
 * cut is wrong and what the valid ones are.
 */
export function validateCuts(depth: number, cuts: readonly (readonly number[])[]): Cut[] {
  const n = blocksPerStage(depth);
  const seen = new Set<string>();
  const valid: Cut[] = [];
  for (const raw of cuts) {
    if (!Array.isArray(raw) || raw.length !== 2 || !raw.every((v) => Number.isInteger(v))) {
      throw new SplitError(`Each cut is a pair [stage, block] of whole numbers; got ${JSON.stringify(raw)}.`);
    }
    const [stage, block] = raw as [number, number];
    const isStem = stage === 0 && block === 0;
    if (!isStem && !(stage >= 1 && stage <= 3 && block >= 0 && block < n)) {
      throw new SplitError(`Cut [${stage}, ${block}] does not exist in ResNet-${depth}: stages are 1 to 3 with blocks 0 to ${n - 1} each, and [0, 0] cuts after the stem.`);
    }
    if (stage === 3 && block === n - 1) {
      throw new SplitError(`Cut [3, ${n - 1}] is the end of the network, where the last module always ends: leave it out of the list.`);
    }
    const key = `${stage},${block}`;
    if (seen.has(key)) throw new SplitError(`Cut [${stage}, ${block}] is listed twice.`);
    seen.add(key);
    valid.push([stage, block]);
  }
  return valid.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

/** Local modules of a split, as [first unit, last unit] indices into describeResNet's units (stem = 0). */
export interface ModuleRange {
  first: number;
  last: number;
}

/** The unit index just after which a cut falls (stem = 0, block (s, b) = 1 + (s-1)n + b). */
export function cutUnit(depth: number, [stage, block]: Cut): number {
  return stage === 0 ? 0 : 1 + (stage - 1) * blocksPerStage(depth) + block;
}

/**
 * The gradient-isolated modules a method trains. `infopro` (and e2e, greedy, DGL) keep the stem as
 * its own module when the list cuts after it; `hpff`/`man` fuse the stem into the first segment,
 * as their code does (ResNet-32 "K=16" gives 15 segments). The head belongs to the last module.
 */
export function segmentsFor(depth: number, cuts: readonly Cut[], reading: 'infopro' | 'stem-fused' = 'infopro'): ModuleRange[] {
  const valid = validateCuts(depth, cuts).filter((c) => reading === 'infopro' || !(c[0] === 0 && c[1] === 0));
  const lastBlock = 3 * blocksPerStage(depth);
  const ends = [...valid.map((c) => cutUnit(depth, c)), lastBlock];
  return ends.map((last, i) => ({ first: i === 0 ? 0 : ends[i - 1]! + 1, last }));
}

/** The paper's split tables for ResNet-32 and ResNet-110 (methods.md 0.2). */
const PAPER: Record<number, Record<string, Cut[]>> = {
  32: {
    '2': [[2, 1]],
    '3': [[1, 4], [2, 4]],
    '4': [[1, 2], [2, 1], [3, 0]],
    '8': [[1, 0], [1, 2], [1, 4], [2, 1], [2, 3], [3, 0], [3, 2]],
    '16': [[0, 0], ...cutsOf(1, range(0, 4)), ...cutsOf(2, range(0, 4)), ...cutsOf(3, range(0, 3))],
  },
  110: {
    '2': [[2, 8]],
    '3': [[1, 17], [2, 17]],
    '4': [[1, 11], [2, 7], [3, 3]],
    '8': [[1, 4], [1, 11], [2, 0], [2, 7], [2, 14], [3, 3], [3, 10]],
    '16': [[1, 1], [1, 4], [1, 7], [1, 10], [1, 13], [1, 16], [2, 1], [2, 4], [2, 7], [2, 11], [2, 15], [3, 1], [3, 5], [3, 9], [3, 13]],
    // HPFF/MAN only: their 32 entries include the terminal (3, 17), left out here.
    '32': [...cutsOf(1, [1, 2, 4, 5, 7, 9, 11, 13, 14, 16, 17]), ...cutsOf(2, [1, 2, 4, 5, 7, 9, 11, 13, 14, 16, 17]), ...cutsOf(3, [1, 3, 4, 6, 7, 9, 11, 13, 15])],
    // Every block: 54 segments once the stem is fused (HPFF/MAN); InfoPro's reading keeps the stem apart.
    '55': [[0, 0], ...cutsOf(1, range(0, 17)), ...cutsOf(2, range(0, 17)), ...cutsOf(3, range(0, 16))],
  },
};

/** InfoPro* memory-balanced splits of ResNet-110 (methods.md 0.2). */
const BALANCED: Record<string, Record<string, Cut[]>> = {
  cifar10: { '2': [[1, 14]], '3': [[1, 9], [2, 2]], '4': [[1, 6], [1, 14], [2, 8]] },
  stl10: { '2': [[1, 14]], '3': [[1, 8], [2, 1]], '4': [[1, 6], [1, 14], [2, 8]] },
};

/** Every cut after a block: one module per residual block, the stem fused into the first. */
export function perBlockCuts(depth: number): Cut[] {
  const n = blocksPerStage(depth);
  return [1, 2, 3].flatMap((stage) => cutsOf(stage, range(0, n - 1))).filter(([s, b]) => !(s === 3 && b === n - 1));
}

/** K modules over the 3n blocks, as even as whole blocks allow (for depths the papers give no table for). */
export function evenCuts(depth: number, k: number): Cut[] {
  const n = blocksPerStage(depth);
  const blocks = 3 * n;
  if (!(Number.isInteger(k) && k >= 1 && k <= blocks)) throw new SplitError(`ResNet-${depth} has ${blocks} blocks, so K must be 1 to ${blocks}; got ${k}.`);
  return range(1, k - 1).map((i) => {
    const unit = Math.round((i * blocks) / k); // cut after this many blocks
    return [Math.floor((unit - 1) / n) + 1, (unit - 1) % n] as const;
  });
}

/** The cut list a run's `split` setting names: a preset id of ResNet-`depth` or an explicit cut list. Throws a SplitError saying what to choose. */
export function splitCuts(depth: number, split: string | readonly (readonly number[])[]): Cut[] {
  if (typeof split !== 'string') return validateCuts(depth, split);
  const preset = splitPresets(depth).find((p) => p.id === split);
  if (!preset) {
    throw new SplitError(`Split "${split}" is not a preset of ResNet-${depth}: choose one of ${splitPresets(depth).map((p) => p.id).join(', ')}, or give a cut list like [[1,0],[2,0]].`);
  }
  return [...preset.cuts];
}

/** The presets a user can start from for ResNet-`depth`: the papers' tables where they exist, else even splits. */
export function splitPresets(depth: number): SplitPreset[] {
  const n = blocksPerStage(depth);
  const presets: SplitPreset[] = [{ id: 'k1', label: 'K = 1 (end-to-end)', cuts: [], source: 'paper' }];
  const paper = PAPER[depth];
  if (paper) {
    for (const [k, cuts] of Object.entries(paper)) presets.push({ id: `k${k}`, label: `K = ${k}`, cuts, source: 'paper' });
  } else {
    for (const k of [2, 3, 4, 8, 16].filter((k) => k <= 3 * n)) presets.push({ id: `k${k}`, label: `K = ${k} (even)`, cuts: evenCuts(depth, k), source: 'generated' });
    // The papers' finest split counts the stem as a module (ResNet-32 K = 16 = 3n + 1).
    if (!presets.some((p) => p.id === `k${3 * n + 1}`)) presets.push({ id: `k${3 * n + 1}`, label: `K = ${3 * n + 1} (stem apart, one module per block)`, cuts: [[0, 0], ...perBlockCuts(depth)], source: 'generated' });
  }
  if (depth === 110) {
    for (const [dataset, table] of Object.entries(BALANCED)) {
      for (const [k, cuts] of Object.entries(table)) presets.push({ id: `balanced-${dataset}-k${k}`, label: `K = ${k}, memory-balanced (${dataset === 'cifar10' ? 'CIFAR-10' : 'STL-10'})`, cuts, source: 'balanced-memory' });
    }
  }
  presets.push({ id: 'per-block', label: `One module per block (${3 * n})`, cuts: perBlockCuts(depth), source: 'paper' });
  return presets;
}
