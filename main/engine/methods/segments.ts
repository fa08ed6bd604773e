/**
 * The segments HPFF and MAN train (methods.md 0.2): their cut lists always fuse the stem into the
 * first segment, so ResNet-32's "K = 16" is 15 segments. Their loss-weight schedules use the
 * nominal K the papers name the split by, which counts the stem when there is one module per
 * block (ResNet-32 K = 16, ResNet-110 K = 55) and is the segment count otherwise.
 */
import { stemFusedNominalK } from '../../../shared/engine/loss-weights';
import { type Cut, segmentsFor } from '../../../shared/engine/splits';
import type * as tf from '@tensorflow/tfjs-core';
import type { ResNetModel, UnitModel } from '../nets/resnet-model';
import { Trainer } from '../train/trainer';

export interface StemFusedSplit {
  /** Backbone segments E_0..E_{K'-1}: E_0 starts with the stem; the head unit is left out. */
  trunk: UnitModel[][];
  /** The network's own head (GAP + FC): the last segment's loss. */
  head: UnitModel;
  /** K as the papers' tables name the split. */
  nominalK: number;
}

/** `stem` 'apart' keeps the stem as its own segment when the list cuts after it (a run setting; the code fuses it). */
export function stemFusedSplit(model: ResNetModel, cuts: readonly Cut[], method: string, stem: 'fused' | 'apart' = 'fused'): StemFusedSplit {
  const ranges = segmentsFor(model.depth, cuts, stem === 'apart' ? 'infopro' : 'stem-fused');
  if (ranges.length < 2) {
    throw new Error(`${method} trains pairs of segments, so it needs a split with at least one cut after a block (e.g. k2 or per-block); this split leaves ${ranges.length} segment.`);
  }
  const trunk = ranges.map(({ first, last }) => model.units.slice(first, last + 1));
  return { trunk, head: model.units.at(-1)!, nominalK: stemFusedNominalK(model.depth, ranges) };
}


/** What HPFF and MAN share: the stem-fused segments, the real head, the nominal K. */
export abstract class StemFusedTrainer extends Trainer {
  /** Segments in order; the last one's units end with the real head. */
  readonly segments: UnitModel[][];
  readonly nominalK: number;
  /** The segments without the head: E_0..E_{K'-1}. */
  protected readonly trunk: UnitModel[][];
  protected readonly head: UnitModel;

  constructor(model: ResNetModel, cuts: readonly Cut[], method: string, stem: 'fused' | 'apart' = 'fused') {
    super();
    const split = stemFusedSplit(model, cuts, method, stem);
    this.trunk = split.trunk;
    this.head = split.head;
    this.nominalK = split.nominalK;
    this.segments = this.trunk.map((units, j) => (j === this.trunk.length - 1 ? [...units, this.head] : units));
  }

  /** theta_j: segment j's backbone variables (the last segment's include the real head). */
  segmentVariables(j: number): tf.Variable[] {
    return this.segments[j]!.flatMap((u) => u.trainableVariables);
  }
}
