/**
 * What the split editor draws and estimates, from the engine's own description of the net
 * (shared/engine/resnet.ts) and its split rules (shared/engine/splits.ts): the units, the gaps
 * where a cut can go, the modules a cut list makes, and an estimate of each module's training
 * memory. Pure functions: the view only renders them.
 *
 * The memory figures are estimates from layer shapes, not measurements (the run dashboard shows
 * measured peaks): float32 activations a unit keeps for its backward pass (a block keeps its two
 * convolutions, two BatchNorms, the sum and three ReLUs; two more with a projection shortcut),
 * plus the auxiliary net's own activations, plus weights, gradients and momentum of the whole net.
 * End-to-end keeps every unit's activations at once; local learning keeps one module's.
 */
import { type Cut, SplitError, segmentsFor, validateCuts } from '../../../shared/engine/splits';
import { describeResNet, type InputShape, type Unit } from '../../../shared/engine/resnet';
import type { TrainableMethod } from '../../../shared/engine/config';

const FLOAT = 4;

export interface DiagramUnit extends Unit {
  index: number;
  label: string;
  /** Activation bytes kept for the backward pass, for the whole batch. */
  activationBytes: number;
}

/** A place a cut can go: after the stem or after any block but the last. */
export interface Gap {
  cut: Cut;
  /** Index of the unit the gap follows. */
  afterUnit: number;
  label: string;
}

export interface SplitModule {
  index: number;
  units: DiagramUnit[];
  params: number;
  /** What trains this module (its auxiliary net), or the network's own head for the last module. */
  trainedBy: string;
  activationBytes: number;
  auxBytes: number;
  /** Activations alive while this module trains: its own, its input, and its auxiliary net's. */
  peakActivationBytes: number;
}

export interface SplitPlan {
  units: DiagramUnit[];
  gaps: Gap[];
  modules: SplitModule[];
  /** Weights, gradients and momentum of the backbone (float32). */
  stateBytes: number;
  /** Estimated peak training memory of this split and of end-to-end backprop. */
  peakBytes: number;
  endToEndPeakBytes: number;
}

export interface SplitRequest {
  depth: number;
  input: InputShape;
  classes: number;
  batchSize: number;
  method: TrainableMethod;
  cuts: readonly (readonly number[])[];
}

const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function unitLabel(unit: Unit): string {
  if (unit.kind === 'stem') return 'Stem';
  if (unit.kind === 'head') return 'Head';
  return `Stage ${unit.stage} · block ${unit.block}`;
}

/** Tensors a unit keeps for backprop, in multiples of its output size. */
function keptPerOutput(unit: Unit): number {
  if (unit.kind === 'stem') return 3;
  if (unit.kind === 'head') return 1;
  return unit.projection ? 10 : 8;
}

/** What trains a module under `method`, in words (methods.md). */
export function auxiliaryNetOf(method: TrainableMethod): string {
  const base = method.startsWith('dgl') ? 'DGL head (pool 8×8, 1×1 convs, MLP)' : method === 'greedy' ? 'GAP + linear classifier' : 'decoder + 1c2f classifier';
  if (method.endsWith('+hpff')) return `${base}; HPFF independent + cascade nets`;
  if (method.endsWith('+man')) return `${base}; MAN EMA copy of the next block + bias`;
  return base;
}

/** The auxiliary net's activations at a module output of `shape` (rough, per image). */
function auxElements(method: TrainableMethod, shape: readonly number[], input: InputShape): number {
  const [h = 1, w = 1, c = 1] = shape;
  const pooled = Math.min(h, 8) * Math.min(w, 8) * c;
  if (method === 'greedy') return c * 2;
  const head = method.startsWith('dgl') ? 4 * pooled : 2 * h * w * c + 3 * elements([input.height, input.width, 12]);
  // HPFF runs extra nets over the module; MAN keeps a copy of the next block running at this resolution.
  if (method.endsWith('+hpff')) return head * 2;
  if (method.endsWith('+man')) return head + 8 * h * w * c;
  return head;
}

export function gapsOf(units: readonly Unit[]): Gap[] {
  const gaps: Gap[] = [{ cut: [0, 0], afterUnit: 0, label: 'after the stem' }];
  const lastBlock = units.length - 2;
  units.forEach((unit, index) => {
    if (unit.kind === 'block' && index < lastBlock) gaps.push({ cut: [unit.stage, unit.block], afterUnit: index, label: `after stage ${unit.stage} block ${unit.block}` });
  });
  return gaps;
}

/**
 * K modules whose largest estimated activation memory is as small as contiguous modules allow
 * (the stem may stand alone): the "balanced memory" preset, computed from the same estimate.
 */
export function balancedCuts(plan: Pick<SplitPlan, 'units' | 'gaps'>, k: number): Cut[] {
  const costs = plan.units.slice(0, -1).map((u) => u.activationBytes); // the head joins the last module
  const n = costs.length;
  const prefix = [0];
  for (const c of costs) prefix.push(prefix.at(-1)! + c);
  const sum = (from: number, to: number) => prefix[to + 1]! - prefix[from]!;
  // best[j][m]: the smallest possible largest module over units 0..j split into m modules.
  const best = Array.from({ length: n }, () => new Array<number>(k + 1).fill(Infinity));
  const cutAt = Array.from({ length: n }, () => new Array<number>(k + 1).fill(-1));
  for (let j = 0; j < n; j++) {
    best[j]![1] = sum(0, j);
    for (let m = 2; m <= Math.min(k, j + 1); m++) {
      for (let i = m - 2; i < j; i++) {
        const value = Math.max(best[i]![m - 1]!, sum(i + 1, j));
        if (value < best[j]![m]!) {
          best[j]![m] = value;
          cutAt[j]![m] = i;
        }
      }
    }
  }
  const modules = Math.min(k, n);
  const after: number[] = [];
  for (let j = n - 1, m = modules; m > 1; m--) {
    j = cutAt[j]![m]!;
    after.unshift(j);
  }
  return after.map((unit) => plan.gaps.find((g) => g.afterUnit === unit)!.cut);
}

/** Units, gaps, modules and memory of a split; throws a SplitError saying why a cut list is impossible. */
export function planSplit(request: SplitRequest): SplitPlan {
  const { depth, input, classes, batchSize, method } = request;
  const cuts = method === 'e2e' ? [] : validateCuts(depth, request.cuts);
  const described = describeResNet(depth, input, classes);
  const units: DiagramUnit[] = described.map((unit, index) => ({
    ...unit,
    index,
    label: unitLabel(unit),
    activationBytes: keptPerOutput(unit) * elements(unit.output) * batchSize * FLOAT,
  }));
  const reading = method.endsWith('+hpff') || method.endsWith('+man') ? 'stem-fused' : 'infopro';
  const ranges = segmentsFor(depth, cuts, reading);
  const modules = ranges.map(({ first, last }, index): SplitModule => {
    const isLast = index === ranges.length - 1;
    const members = units.slice(first, isLast ? units.length : last + 1);
    const activationBytes = members.reduce((n, u) => n + u.activationBytes, 0);
    const output = members.at(isLast ? -2 : -1)?.output ?? units[0]!.output;
    const auxBytes = isLast ? 0 : auxElements(method, output, input) * batchSize * FLOAT;
    const inputBytes = first === 0 ? elements([input.height, input.width, input.channels]) * batchSize * FLOAT : elements(units[first - 1]!.output) * batchSize * FLOAT;
    return {
      index,
      units: members,
      params: members.reduce((n, u) => n + u.params, 0),
      trainedBy: isLast ? 'the network’s own head (cross-entropy)' : auxiliaryNetOf(method),
      activationBytes,
      auxBytes,
      peakActivationBytes: activationBytes + auxBytes + inputBytes,
    };
  });
  const stateBytes = 3 * units.reduce((n, u) => n + u.params, 0) * FLOAT;
  const allActivations = units.reduce((n, u) => n + u.activationBytes, 0) + elements([input.height, input.width, input.channels]) * batchSize * FLOAT;
  return {
    units,
    gaps: gapsOf(described),
    modules,
    stateBytes,
    peakBytes: stateBytes + Math.max(...modules.map((m) => m.peakActivationBytes)),
    endToEndPeakBytes: stateBytes + allActivations,
  };
}

/** Toggle a cut in a sorted cut list. */
export function toggleCut(cuts: readonly Cut[], cut: Cut): Cut[] {
  const has = cuts.some((c) => c[0] === cut[0] && c[1] === cut[1]);
  const next = has ? cuts.filter((c) => !(c[0] === cut[0] && c[1] === cut[1])) : [...cuts, cut];
  return [...next].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

/**
 * Read a pasted cut list (the engine's JSON, e.g. [[1,0],[2,0]]) for ResNet-`depth`; throws
 * a SplitError saying what is wrong.
 */
export function parseCutList(text: string, depth: number): Cut[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SplitError('The pasted text is not JSON: a cut list looks like [[1,0],[2,0]] (stage, block pairs; [0,0] is after the stem).');
  }
  if (!Array.isArray(value)) throw new SplitError('A cut list is a JSON array of [stage, block] pairs, like [[1,0],[2,0]].');
  return validateCuts(depth, value as number[][]);
}

/** Undo/redo over cut lists: each change pushes the previous list. */
export class CutHistory {
  private past: Cut[][] = [];
  private future: Cut[][] = [];

  constructor(public current: Cut[] = []) {}

  set(next: Cut[]): void {
    if (JSON.stringify(next) === JSON.stringify(this.current)) return;
    this.past.push(this.current);
    this.future = [];
    this.current = next;
  }

  undo(): boolean {
    const previous = this.past.pop();
    if (!previous) return false;
    this.future.push(this.current);
    this.current = previous;
    return true;
  }

  redo(): boolean {
    const next = this.future.pop();
    if (!next) return false;
    this.past.push(this.current);
    this.current = next;
    return true;
  }

  get canUndo(): boolean {
    return this.past.length > 0;
  }

  get canRedo(): boolean {
    return this.future.length > 0;
  }
}
