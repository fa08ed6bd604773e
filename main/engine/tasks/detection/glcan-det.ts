/**
 * GLCAN's auxiliary nets for object detection, AS THIS STUDIO READS THEM. GLCAN v1's design is
 * not public (../../../../shared/docs/methods.md 3.2); this follows the renamed paper's description
 * (FBA, methods.md 3.1, secondary sources: "detection: stores multi-scale maps to build a local
 * FPN"; auxiliary nets "reuse backbone blocks aligned with the following stages plus the original
 * task head") with the super-resolution half's reasoning (../super-resolution/glcan-sr.ts), behind
 * the DetLocalHead interface so the paper's own design can replace it. Our choices:
 *
 * 1. Simple Local Modules. The auxiliary net of module i is a shortened copy of the rest of the
 *    backbone, with the backbone's block ARCHITECTURE and its own weights (sharing the backbone's
 *    would break gradient isolation, as in the SR half): one BasicBlock finishing the current stage
 *    when the module ends inside one, then one strided BasicBlock per later stage, so it reaches
 *    every pyramid input the backbone has not made yet.
 * 2. Feature bank = the pyramid taps C3, C4, C5 the backbone has made so far. Taps of earlier
 *    modules are read as constants (written online each step by the module that makes them; the
 *    sources leave online vs precomputed open), a tap made inside this module is live.
 * 3. Local FPN: the real FPN's architecture (own weights) over C3..C5 taken from the bank where
 *    it has them and from the SLM blocks otherwise, so every local module predicts on P3-P5 with
 *    the real regression ranges and targets.
 * 4. Global-local collaboration, read as in the SR half: the task head (the FCOS head, towers and
 *    predictors) is ONE global branch shared by every local module's auxiliary net and trained by
 *    the sum of their losses; it is separate from the real head (sharing the real head would let
 *    every local loss train the last module). SLM blocks and local FPN are each module's own.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mixSeed } from '../../../data/random';
import { Init, type UnitModel } from '../../nets/resnet-model';
import { createStageBlock, type DetectorConfig, stageBlocks, type DetUnitInfo, FcosHead, Fpn, PYRAMID_STRIDES, pyramidLevels } from './detector';
import { auxLoss, type DetLocalHead } from './det-local-heads';

/** The global branch: the FCOS head every local module's auxiliary net ends in. */
export type GlcanDetGlobalBranch = FcosHead;

export function createGlcanDetGlobalBranch(config: DetectorConfig, seed: number): GlcanDetGlobalBranch {
  return new FcosHead(config.fpn, config.classes, config.towerConvs, new Init(seed));
}

/** The SLM blocks after a module ending at backbone block `end`: [stage, first-of-stage, in, out] each. */
export function slmPlan(config: DetectorConfig, end: DetUnitInfo): { stage: number; first: boolean; inChannels: number; width: number }[] {
  if (end.kind !== 'block') throw new Error(`A GLCAN auxiliary net follows a backbone block, not the ${end.kind}`);
  const width = (stage: number) => config.widths[stage - 2]!;
  const plan: { stage: number; first: boolean; inChannels: number; width: number }[] = [];
  if (end.block < stageBlocks(config)[end.stage - 2]! - 1) plan.push({ stage: end.stage, first: false, inChannels: width(end.stage), width: width(end.stage) });
  for (let stage = end.stage + 1; stage <= 5; stage++) plan.push({ stage, first: true, inChannels: width(stage - 1), width: width(stage) });
  return plan;
}

export interface GlcanDetHeadOptions {
  config: DetectorConfig;
  /** The backbone block the module ends with. */
  end: DetUnitInfo;
  global: GlcanDetGlobalBranch;
  seed: number;
}

export function createGlcanDetHead(options: GlcanDetHeadOptions): DetLocalHead {
  const { config, end, global, seed } = options;
  const plan = slmPlan(config, end);
  const blocks: { stage: number; block: UnitModel }[] = plan.map((p, i) => ({ stage: p.stage, block: createStageBlock(p.stage, p.first, p.inChannels, p.width, mixSeed(seed, i)) }));
  const fpn = new Fpn(config.widths.slice(1), config.fpn, new Init(mixSeed(seed, 99)));
  const levels = pyramidLevels(config);
  const self: DetLocalHead = {
    levels,
    predict: ({ h, taps }, training) =>
      tf.tidy(() => {
        const pyramid = [...taps];
        let x = h;
        for (const { stage, block } of blocks) {
          x = block.apply(x, training) as tf.Tensor4D;
          if (stage >= 3) pyramid[stage - 3] = x;
        }
        if (pyramid.some((p) => !p)) throw new Error('GLCAN: the local FPN is missing a level; the SLM plan does not reach C5');
        return global.apply(fpn.apply(pyramid as tf.Tensor4D[]), PYRAMID_STRIDES);
      }),
    loss: (input, boxes, size) => auxLoss(self, input, boxes, size),
    ownVariables: [...blocks.flatMap((b) => b.block.trainableVariables), ...fpn.variables],
    sharedVariables: global.variables,
    stateVariables: blocks.flatMap((b) => b.block.stateVariables),
    dispose: () => {
      for (const b of blocks) b.block.dispose();
      fpn.dispose();
    },
  };
  return self;
}
