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
 * Each term is then weighted per method (CALIBRATION) so the estimate lands on the real probe's
 * peak (tf.profile of one training step): the shapes miss backward temporaries, the auxiliary
 * nets' weights and momentum, and HPFF's cascade over two segments.
 */
import { type Cut, SplitError, segmentsFor, validateCuts } from '../../../shared/engine/splits';
import { describeResNet, type InputShape, type Unit } from '../../../shared/engine/resnet';
import type { TrainableMethod } from '../../../shared/engine/config';

const FLOAT = 4;
const MiB = 2 ** 20;

/**
 * Weights of the shape terms per method, fitted (least squares on the relative error, pushed
 * towards the worst case) to the probe's peaks of ResNet-8/20/32 at K = 2, 4, 8 and per block on
 * 28x28x1 and 32x32x3, batch 16, 32 and 64, reference execution, wasm:
 * test/fixtures/split-memory-probe*.json, refitted with test/fixtures/fit-split-memory.py. Bytes are the uncalibrated shape terms:
 * whole-net terms `state` x backbone weight bytes, `perAuxNet` MiB per auxiliary net,
 * `auxWeights` x C² x 4 summed over the cuts (C: channels at the cut), `allAct`/`allAux` x every
 * module's activations / auxiliary activations, `oneWindow` x all activations when there are two
 * modules; per-module terms, the largest module counting: `act` its kept activations, `inp` its
 * input, `aux` its auxiliary activations, `actNext` the next module's activations (HPFF's
 * cascade), `ownAux` MiB while an auxiliary net trains, `stateSoFar` x weight bytes and
 * `auxNetsSoFar` MiB per auxiliary net of modules 0..i (the probe's step creates momentum module by module).
 */
export interface Calibration {
  state: number;
  perAuxNet: number;
  auxWeights: number;
  allAct: number;
  allAux: number;
  oneWindow: number;
  act: number;
  inp: number;
  aux: number;
  actNext: number;
  ownAux: number;
  stateSoFar: number;
  auxNetsSoFar: number;
}

export const CALIBRATION: Readonly<Record<TrainableMethod, Calibration>> = {
  'e2e': { state: 0.001, perAuxNet: 92.846, auxWeights: 10.887, allAct: 1.41, allAux: 51.193, oneWindow: 3.736, act: 0, inp: 20.115, aux: 2.886, actNext: 2.101, ownAux: 1.241, stateSoFar: 3.197, auxNetsSoFar: 3.558 },
  'greedy': { state: 0.341, perAuxNet: 0, auxWeights: 9.046, allAct: 0, allAux: 0, oneWindow: 0.021, act: 1.387, inp: 1.798, aux: 295.372, actNext: 0.062, ownAux: 0.51, stateSoFar: 0, auxNetsSoFar: 0 },
  'dgl': { state: 0, perAuxNet: 2.235, auxWeights: 295.836, allAct: 0, allAux: 0, oneWindow: 0.191, act: 0.995, inp: 0.671, aux: 2.706, actNext: 0.422, ownAux: 0, stateSoFar: 3.997, auxNetsSoFar: 5.77 },
  'infopro': { state: 0.019, perAuxNet: 0.014, auxWeights: 0.052, allAct: 0.002, allAux: 0.018, oneWindow: 0.022, act: 1.634, inp: 8.332, aux: 1.386, actNext: 0.039, ownAux: 0, stateSoFar: 5.953, auxNetsSoFar: 0.626 },
  'infopro+hpff': { state: 0, perAuxNet: 0, auxWeights: 0, allAct: 0, allAux: 0.171, oneWindow: 0, act: 1.535, inp: 7.797, aux: 4.017, actNext: 2.747, ownAux: 6.426, stateSoFar: 0, auxNetsSoFar: 0 },
  'dgl+hpff': { state: 0, perAuxNet: 0.256, auxWeights: 550.591, allAct: 0, allAux: 0, oneWindow: 0, act: 1.384, inp: 0, aux: 3.691, actNext: 2.856, ownAux: 0, stateSoFar: 6.633, auxNetsSoFar: 11.769 },
  'infopro+man': { state: 0, perAuxNet: 0, auxWeights: 96.74, allAct: 0, allAux: 0.047, oneWindow: 0, act: 1.664, inp: 2.854, aux: 3.045, actNext: 0.006, ownAux: 0.594, stateSoFar: 0, auxNetsSoFar: 0 },
  'dgl+man': { state: 0, perAuxNet: 0, auxWeights: 438.621, allAct: 0, allAux: 0.001, oneWindow: 0, act: 1.447, inp: 0, aux: 2.781, actNext: 0.102, ownAux: 0, stateSoFar: 1.44, auxNetsSoFar: 8.106 },
};

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
  /** What this module adds on top of the whole-net state while it trains (activations, input, auxiliary net, optimiser state so far), calibrated. */
  peakActivationBytes: number;
}

export interface SplitPlan {
  units: DiagramUnit[];
  gaps: Gap[];
  modules: SplitModule[];
  /** What every module's step holds (weights of the backbone and auxiliary nets, ...), calibrated. */
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
  // DGL's head: pooled to at most 8x8, three 1x1 convs 128 wide (conv, BN, ReLU kept each), an MLP 512 wide.
  const dglHead = Math.min(h, 8) * Math.min(w, 8) * 9 * 128 + 9 * 512;
  const head = method.startsWith('dgl') ? pooled + dglHead : 2 * h * w * c + 3 * elements([input.height, input.width, 12]);
  // HPFF runs extra nets over the module; MAN keeps a copy of the next block running at this resolution.
  if (method.endsWith('+hpff')) return head + 2 * h * w * c + 3 * elements([input.height, input.width, 12]); // + its PFF decoder at the input's resolution
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

/** The shape terms of each module (uncalibrated bytes): what CALIBRATION weighs. */
export function moduleShapes(units: readonly DiagramUnit[], ranges: readonly { first: number; last: number }[], { input, batchSize, method }: SplitRequest) {
  return ranges.map(({ first, last }, index) => {
    const isLast = index === ranges.length - 1;
    const members = units.slice(first, isLast ? units.length : last + 1);
    const output = members.at(isLast ? -2 : -1)?.output ?? units[0]!.output;
    return {
      isLast,
      members,
      output,
      activationBytes: members.reduce((n, u) => n + u.activationBytes, 0),
      auxBytes: isLast ? 0 : auxElements(method, output, input) * batchSize * FLOAT,
      inputBytes: first === 0 ? elements([input.height, input.width, input.channels]) * batchSize * FLOAT : elements(units[first - 1]!.output) * batchSize * FLOAT,
    };
  });
}

/** The units of the net and the shape terms of each module of a split (uncalibrated bytes). */
export function splitTerms(request: SplitRequest) {
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
  const shapes = moduleShapes(units, segmentsFor(depth, cuts, reading), request);
  return { described, units, shapes };
}

type ModuleShape = ReturnType<typeof moduleShapes>[number];

/** The calibrated whole-net bytes and each module's own bytes on top of them (the peak: whole + the largest module). */
function calibratedPeak(method: TrainableMethod, shapes: readonly ModuleShape[]): { stateBytes: number; moduleBytes: number[] } {
  const cal = CALIBRATION[method];
  // HPFF on two segments trains them as one cascade window: no independent auxiliary net runs.
  const auxOf = (m: ModuleShape) => (method.endsWith('+hpff') && shapes.length === 2 ? 0 : m.auxBytes);
  const weightsOf = (m: ModuleShape) => m.members.reduce((n, u) => n + u.params, 0) * FLOAT;
  const allAct = shapes.reduce((n, m) => n + m.activationBytes, 0);
  const cutChannels = shapes.filter((m) => !m.isLast).map((m) => m.output.at(-1) ?? 0);
  const stateBytes =
    cal.state * shapes.reduce((n, m) => n + weightsOf(m), 0) +
    cal.perAuxNet * cutChannels.length * MiB +
    cal.auxWeights * cutChannels.reduce((n, c) => n + c * c * FLOAT, 0) +
    cal.allAct * allAct +
    cal.allAux * shapes.reduce((n, m) => n + auxOf(m), 0) +
    cal.oneWindow * (shapes.length === 2 ? allAct : 0);
  let weightsSoFar = 0;
  let auxNetsSoFar = 0;
  const moduleBytes = shapes.map((m, i) => {
    weightsSoFar += weightsOf(m);
    if (!m.isLast) auxNetsSoFar += 1;
    return (
      cal.act * m.activationBytes +
      cal.inp * m.inputBytes +
      cal.aux * auxOf(m) +
      cal.actNext * (shapes[i + 1]?.activationBytes ?? 0) +
      (m.isLast ? 0 : cal.ownAux * MiB) +
      cal.stateSoFar * weightsSoFar +
      cal.auxNetsSoFar * auxNetsSoFar * MiB
    );
  });
  return { stateBytes, moduleBytes };
}

/** Units, gaps, modules and memory of a split; throws a SplitError saying why a cut list is impossible. */
export function planSplit(request: SplitRequest): SplitPlan {
  const { method } = request;
  const { described, units, shapes } = splitTerms(request);
  const split = calibratedPeak(method, shapes);
  const modules = shapes.map((m, index): SplitModule => ({
    index,
    units: m.members,
    params: m.members.reduce((n, u) => n + u.params, 0),
    trainedBy: m.isLast ? 'the network’s own head (cross-entropy)' : auxiliaryNetOf(method),
    activationBytes: m.activationBytes,
    auxBytes: m.auxBytes,
    peakActivationBytes: split.moduleBytes[index]!,
  }));
  // End-to-end: one module holding every unit, under end-to-end's own calibration.
  const whole = calibratedPeak('e2e', moduleShapes(units, [{ first: 0, last: units.length - 1 }], { ...request, method: 'e2e' }));
  const endToEndPeakBytes = whole.stateBytes + whole.moduleBytes[0]!;
  const stateBytes = split.stateBytes;
  return {
    units,
    gaps: gapsOf(described),
    modules,
    stateBytes,
    peakBytes: method === 'e2e' ? endToEndPeakBytes : stateBytes + Math.max(...split.moduleBytes),
    endToEndPeakBytes,
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
