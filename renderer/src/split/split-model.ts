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
 * test/fixtures/split-memory-probe*.json (DGL, DGL+HPFF and InfoPro also on the balanced and papers'
 * K = 2/3/4 splits of ResNet-32, test/fixtures/split-memory-presets.json), refitted with test/fixtures/fit-split-memory.py. Bytes are the uncalibrated shape terms:
 * whole-net terms `state` x backbone weight bytes, `perAuxNet` MiB per auxiliary net,
 * `auxWeights` x C² x 4 summed over the cuts (C: channels at the cut), `allAct`/`allAux` x every
 * module's activations / auxiliary activations, `oneWindow` x all activations when there are two
 * modules; per-module terms, the largest module counting: `act` its kept activations, `inp` its
 * input, `aux` its auxiliary activations, `actNext` the next module's activations (HPFF's
 * cascade), `ownAux` MiB while an auxiliary net trains, `stateSoFar` x weight bytes and
 * `auxNetsSoFar` MiB per auxiliary net of modules 0..i (gradients pile up module by module until the
 * one optimiser step). The DGL heads of DGL, DGL+MAN and DGL+HPFF are also counted from their layers
 * (dglHeadParams): `auxParams` and `auxParamsSoFar` x their weight bytes (all, modules 0..i), and
 * `update` x all weight bytes (backbone and heads) for the optimiser step at the end, which holds
 * weight, gradient, new momentum and the update's temporaries of every parameter at once (about
 * 5x: where DGL+HPFF per block peaks, with its 26 heads on ResNet-32). DGL+HPFF uses only these
 * counted terms for its heads; HPFF's `actNext` is tied to 2 x `act` (its step for cascade i+1
 * forwards segment i once and segment i+1 twice), so uneven splits, as the balanced presets make,
 * are weighed as the probe measures them.
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
  /** x the auxiliary nets' own weight bytes, counted from their layers (DGL heads only): whole-net, modules 0..i, and the optimiser step. */
  auxParams: number;
  auxParamsSoFar: number;
  update: number;
}

export const CALIBRATION: Readonly<Record<TrainableMethod, Calibration>> = {
  'e2e': { state: 0.001, perAuxNet: 92.846, auxWeights: 10.887, allAct: 1.41, allAux: 51.193, oneWindow: 3.736, act: 0, inp: 20.115, aux: 2.886, actNext: 2.101, ownAux: 1.241, stateSoFar: 3.197, auxNetsSoFar: 3.558, auxParams: 0, auxParamsSoFar: 0, update: 0 },
  'greedy': { state: 0.341, perAuxNet: 0, auxWeights: 9.046, allAct: 0, allAux: 0, oneWindow: 0.021, act: 1.387, inp: 1.798, aux: 295.372, actNext: 0.062, ownAux: 0.51, stateSoFar: 0, auxNetsSoFar: 0, auxParams: 0, auxParamsSoFar: 0, update: 0 },
  'dgl': { state: 2.496, perAuxNet: 0, auxWeights: 0, allAct: 0, allAux: 0, oneWindow: 0.002, act: 1.322, inp: 0.112, aux: 3.588, actNext: 0, ownAux: 0.556, stateSoFar: 6.924, auxNetsSoFar: 0, auxParams: 0.724, auxParamsSoFar: 1.359, update: 5.045 },
  'infopro': { state: 0.002, perAuxNet: 0, auxWeights: 0, allAct: 0, allAux: 0.006, oneWindow: 0.008, act: 1.569, inp: 6.911, aux: 1.561, actNext: 0.153, ownAux: 0.002, stateSoFar: 0.001, auxNetsSoFar: 1.01, auxParams: 0, auxParamsSoFar: 0, update: 0 },
  'infopro+hpff': { state: 0, perAuxNet: 0, auxWeights: 0, allAct: 0, allAux: 0.047, oneWindow: 0.064, act: 1.418, inp: 3.806, aux: 5.547, actNext: 2.836, ownAux: 6.274, stateSoFar: 0, auxNetsSoFar: 0, auxParams: 0, auxParamsSoFar: 0, update: 0 },
  'dgl+hpff': { state: 0.528, perAuxNet: 0, auxWeights: 0, allAct: 0, allAux: 0, oneWindow: 0.045, act: 1.4, inp: 0, aux: 4.484, actNext: 2.799, ownAux: 9.762, stateSoFar: 0, auxNetsSoFar: 0, auxParams: 0.503, auxParamsSoFar: 0.657, update: 5.02 },
  'infopro+man': { state: 0, perAuxNet: 0, auxWeights: 96.74, allAct: 0, allAux: 0.047, oneWindow: 0, act: 1.664, inp: 2.854, aux: 3.045, actNext: 0.006, ownAux: 0.594, stateSoFar: 0, auxNetsSoFar: 0, auxParams: 0, auxParamsSoFar: 0, update: 0 },
  'dgl+man': { state: 0, perAuxNet: 0, auxWeights: 438.621, allAct: 0, allAux: 0.001, oneWindow: 0, act: 1.447, inp: 0, aux: 2.781, actNext: 0.102, ownAux: 0, stateSoFar: 1.44, auxNetsSoFar: 8.106, auxParams: 0, auxParamsSoFar: 0, update: 0 },
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
  /** What was estimated (the balanced presets estimate other cuts of the same net). */
  request: SplitRequest;
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

/**
 * Trainable values of one DGL head on `channels` input channels (main/engine/aux/dgl-head.ts):
 * three bias-free 1x1 convs C -> 128 -> 128 -> 128 with BN (gamma, beta), three Linear 512 wide with
 * BN1d, a Linear 512 -> classes. About 0.64 M values: heavier than the ResNet it trains.
 */
export function dglHeadParams(channels: number, classes: number): number {
  const convs = channels * 128 + 2 * 128 * 128 + 3 * 2 * 128;
  const mlp = 128 * 512 + 512 + 2 * (512 * 512 + 512) + 3 * 2 * 512;
  return convs + mlp + 512 * classes + classes;
}

/**
 * The DGL heads a module of `method` trains (0 for the other methods: their nets are small beside
 * their activations and stay in the shape terms): DGL and DGL+MAN one per module but the last;
 * DGL+HPFF an independent and a cascade head on every segment but the first and the last
 * (main/engine/methods/hpff.ts: the first has none, the last uses the network's own head).
 */
function dglHeadsOf(method: TrainableMethod, index: number, count: number): number {
  if (method === 'dgl' || method === 'dgl+man') return index < count - 1 ? 1 : 0;
  if (method === 'dgl+hpff') return index > 0 && index < count - 1 ? 2 : 0;
  return 0;
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
 * The "balanced memory" preset: the K - 1 cuts whose calibrated peak (calibratedPeak, the same
 * estimate the bar shows) is the smallest, over every choice of gaps (the stem may stand alone,
 * except for HPFF and MAN, which fuse it into the first segment). The peak is not a sum over
 * modules (momentum so far, the next module's activations, the update step), so each choice is
 * estimated whole; ties go to the smaller largest module. K ≤ 4 keeps it small: ResNet-110 has
 * C(54, 3) = 24,804 choices.
 */
export function balancedCuts(plan: Pick<SplitPlan, 'request' | 'units' | 'gaps'>, k: number): Cut[] {
  const { request, units } = plan;
  const stemFused = request.method.endsWith('+hpff') || request.method.endsWith('+man');
  const gaps = plan.gaps.filter((g) => !(stemFused && g.cut[0] === 0));
  const lastBlock = units.length - 2;
  const wanted = Math.min(k - 1, gaps.length);
  let best: { cuts: Cut[]; peak: number; largest: number } | null = null;
  const chosen: Gap[] = [];
  const visit = (from: number) => {
    if (chosen.length === wanted) {
      const ends = [...chosen.map((g) => g.afterUnit), lastBlock];
      const ranges = ends.map((last, i) => ({ first: i === 0 ? 0 : ends[i - 1]! + 1, last }));
      const shapes = moduleShapes(units, ranges, request);
      const { peakBytes, stateBytes, moduleBytes } = calibratedPeak(request.method, shapes);
      const largest = stateBytes + Math.max(...moduleBytes);
      if (!best || peakBytes < best.peak || (peakBytes === best.peak && largest < best.largest)) best = { cuts: chosen.map((g) => g.cut), peak: peakBytes, largest };
      return;
    }
    for (let i = from; i <= gaps.length - (wanted - chosen.length); i++) {
      chosen.push(gaps[i]!);
      visit(i + 1);
      chosen.pop();
    }
  };
  visit(0);
  return best!.cuts;
}

/** The shape terms of each module (uncalibrated bytes): what CALIBRATION weighs. */
export function moduleShapes(units: readonly DiagramUnit[], ranges: readonly { first: number; last: number }[], { input, batchSize, method, classes }: SplitRequest) {
  return ranges.map(({ first, last }, index) => {
    const isLast = index === ranges.length - 1;
    const members = units.slice(first, isLast ? units.length : last + 1);
    const output = members.at(isLast ? -2 : -1)?.output ?? units[0]!.output;
    return {
      isLast,
      members,
      output,
      activationBytes: members.reduce((n, u) => n + u.activationBytes, 0),
      // HPFF puts no net on its first segment (the stem fused in): its nets sit on segments 1..K'-2.
      auxBytes: isLast || (index === 0 && method.endsWith('+hpff')) ? 0 : auxElements(method, output, input) * batchSize * FLOAT,
      auxParamBytes: dglHeadsOf(method, index, ranges.length) * dglHeadParams(output.at(-1) ?? 1, classes) * FLOAT,
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

export type ModuleShape = ReturnType<typeof moduleShapes>[number];

/**
 * The calibrated estimate of one split: whole-net bytes, each module's own bytes on top of them,
 * and the optimiser step at the end (every parameter's weight, gradient and new momentum at once,
 * with the update's temporaries: the peak where the auxiliary nets are heavy). The peak is the
 * larger of the whole plus the largest module and that step. The split editor's bar and the
 * balanced-memory presets both read it.
 */
export function calibratedPeak(method: TrainableMethod, shapes: readonly ModuleShape[]): { stateBytes: number; moduleBytes: number[]; updateBytes: number; peakBytes: number } {
  const cal = CALIBRATION[method];
  // HPFF's phase i is cascade i+1: segments i and i+1 forwarded, the nets of segment i+1 training
  // (none when i+1 is the last: the network's own head).
  const hpff = method.endsWith('+hpff');
  const auxAt = (i: number) => (hpff ? (shapes[i + 1]?.auxBytes ?? 0) : shapes[i]!.auxBytes);
  const weightsOf = (m: ModuleShape) => m.members.reduce((n, u) => n + u.params, 0) * FLOAT;
  const allAct = shapes.reduce((n, m) => n + m.activationBytes, 0);
  const allAuxParams = shapes.reduce((n, m) => n + m.auxParamBytes, 0);
  const allWeights = shapes.reduce((n, m) => n + weightsOf(m), 0);
  const cutChannels = shapes.filter((m) => !m.isLast).map((m) => m.output.at(-1) ?? 0);
  const stateBytes =
    cal.state * allWeights +
    cal.perAuxNet * cutChannels.length * MiB +
    cal.auxWeights * cutChannels.reduce((n, c) => n + c * c * FLOAT, 0) +
    cal.auxParams * allAuxParams +
    cal.allAct * allAct +
    cal.allAux * shapes.reduce((n, m) => n + m.auxBytes, 0) +
    cal.oneWindow * (shapes.length === 2 ? allAct : 0);
  let weightsSoFar = 0;
  let auxNetsSoFar = 0;
  let auxParamsSoFar = 0;
  const moduleBytes = shapes.map((m, i) => {
    weightsSoFar += weightsOf(m);
    auxParamsSoFar += m.auxParamBytes;
    if (!m.isLast) auxNetsSoFar += 1;
    return (
      cal.act * m.activationBytes +
      cal.inp * m.inputBytes +
      cal.aux * auxAt(i) +
      cal.actNext * (shapes[i + 1]?.activationBytes ?? 0) +
      (m.isLast ? 0 : cal.ownAux * MiB) +
      cal.stateSoFar * weightsSoFar +
      cal.auxNetsSoFar * auxNetsSoFar * MiB +
      cal.auxParamsSoFar * auxParamsSoFar
    );
  });
  const updateBytes = cal.update * (allWeights + allAuxParams);
  return { stateBytes, moduleBytes, updateBytes, peakBytes: Math.max(stateBytes + Math.max(...moduleBytes), updateBytes) };
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
  const endToEndPeakBytes = calibratedPeak('e2e', moduleShapes(units, [{ first: 0, last: units.length - 1 }], { ...request, method: 'e2e' })).peakBytes;
  return {
    request,
    units,
    gaps: gapsOf(described),
    modules,
    stateBytes: split.stateBytes,
    peakBytes: method === 'e2e' ? endToEndPeakBytes : split.peakBytes,
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
export class CutHistory<T = Cut> {
  private past: T[][] = [];
  private future: T[][] = [];

  constructor(public current: T[] = []) {}

  set(next: T[]): void {
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
