/**
 * The local losses' weight schedules (methods.md 1, 2, 4.2), one place for the trainers that
 * apply them and for the settings check that refuses a schedule leaving a module without any
 * gradient (./gradient-reach.ts). Pure numbers: no tensors.
 */
import { blocksPerStage } from './resnet';
import type { ModuleRange } from './splits';

/** InfoPro's weights: ixx (reconstruction, -I(h,x)) and ixy (task, -I(h,y)) at the first and last cut. */
export interface InfoProLambdas {
  ixx1: number;
  ixy1: number;
  ixx2: number;
  ixy2: number;
}

export interface CutWeights {
  ixx: number;
  ixy: number;
}

/**
 * Defaults from InfoPro's CIFAR-10 ResNet-32 commands (methods.md 4.2), by the nearest K the
 * table has; the papers give none for the small nets, so they are a starting point, not a claim.
 */
export function defaultInfoProLambdas(k: number): InfoProLambdas {
  if (k <= 2) return { ixx1: 5, ixy1: 1, ixx2: 0, ixy2: 0 };
  if (k <= 5) return { ixx1: 6, ixy1: 0, ixx2: 1, ixy2: 2 };
  if (k <= 11) return { ixx1: 5, ixy1: 0, ixx2: 0, ixy2: 2 };
  return { ixx1: 5, ixy1: 0.05, ixx2: 0.2, ixy2: 0.5 };
}

/** HPFF's and MAN's README weights, from their one-module-per-block runs: (5, 0.5) -> (0, 0). */
export const ADDON_README_LAMBDAS: InfoProLambdas = { ixx1: 5, ixy1: 0.5, ixx2: 0, ixy2: 0 };

/** The weights at position r in [0, 1]: lambda = lambda_1 (1 - r) + lambda_2 r. */
export function lambdasAt(lambdas: InfoProLambdas, r: number): CutWeights {
  return { ixx: lambdas.ixx1 * (1 - r) + lambdas.ixx2 * r, ixy: lambdas.ixy1 * (1 - r) + lambdas.ixy2 * r };
}

/** InfoPro's and HPFF's schedule over cuts: r = i / (K - 2), 0 when K = 2; cut i = 0..K-2. */
export function infoProWeights(lambdas: InfoProLambdas, cut: number, k: number): CutWeights {
  return lambdasAt(lambdas, k <= 2 ? 0 : cut / (k - 2));
}

export const MAN_LAMBDA_INDEXES = ['module', 'stage'] as const;
export type ManLambdaIndex = (typeof MAN_LAMBDA_INDEXES)[number];

/**
 * MAN's schedule at cut i whose next block sits in `nextStage` (1..3): r = index / (K - 2),
 * clamped to 1, where index is i ('module', as InfoPro and HPFF) or the stage ('stage', the MAN
 * code's reading: for K < 5 it reaches r = 1, often the end weights (0, 0), at every cut).
 */
export function manWeights(lambdas: InfoProLambdas, lambdaIndex: ManLambdaIndex, cut: number, nextStage: number, k: number): CutWeights {
  const index = lambdaIndex === 'stage' ? nextStage : cut;
  return lambdasAt(lambdas, k <= 2 ? 0 : Math.min(1, index / (k - 2)));
}

/**
 * K as HPFF's and MAN's papers name a stem-fused split: it counts the stem when there is one
 * module per block (ResNet-32 K = 16, ResNet-110 K = 55), else it is the segment count.
 */
export function stemFusedNominalK(depth: number, segments: readonly ModuleRange[]): number {
  return segments.length === 3 * blocksPerStage(depth) ? segments.length + 1 : segments.length;
}

/** The stage (1..3) of the block a segment starts with; its first unit is a block, never the stem, past segment 0. */
export function stageOfUnit(depth: number, unit: number): number {
  return unit === 0 ? 0 : Math.floor((unit - 1) / blocksPerStage(depth)) + 1;
}
