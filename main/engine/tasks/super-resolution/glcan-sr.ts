/**
 * GLCAN's auxiliary nets for super-resolution, AS THIS STUDIO READS THEM. GLCAN v1's own design is
 * not public (../../../../shared/docs/methods.md 3.2: "a faithful reimplementation is not
 * possible"); this follows the best-documented successor design, the renamed paper's (FBA,
 * methods.md 3.1, secondary sources), and is kept behind the SrLocalHead interface so the paper's
 * own design can replace it. Every choice below is ours where the sources are silent:
 *
 * 1. Simple Local Modules (3.1: "auxiliary nets that reuse backbone blocks aligned with the
 *    following stages plus the original task head"). The auxiliary net of module i is a shortened
 *    copy of the rest of the network: min(slmBlocks, blocks after module i) EDSR ResBlocks with
 *    the backbone's block architecture, then EDSR's body conv, then the task head (upsampler +
 *    conv F -> 3 + RGB mean). "Reuse" is read as reusing the ARCHITECTURE with the auxiliary
 *    net's own weights: sharing the backbone's weights would let module i's loss reach other
 *    modules' variables (no gradient isolation), or need a frozen copy like MAN's EMA, which the
 *    sources do not mention for GLCAN. Default slmBlocks = 2 (unknown in the sources).
 * 2. Feature bank (3.1: "super-resolution: stores early-stage high-resolution maps"). The bank
 *    holds the head's output F0, the map of the finest detail (before any residual block, at the
 *    full LR resolution every later map keeps). The auxiliary net adds it after its body conv,
 *    exactly where the backbone's tail adds its global skip, so each local head solves the task
 *    the real tail solves. The bank is written online, each step, by module 0's forward (the
 *    sources leave online vs precomputed open); later modules read it as a constant, module 0
 *    reads its own live map. `bank: 'none'` drops it (ablation).
 * 3. Global-local collaboration (the name; v1's meaning of "global" and "local" is unknown,
 *    methods.md 3.4). Read as: the task head (upsampler + last conv) is ONE global branch shared
 *    by every local module's auxiliary net, and the SLM blocks + body conv are each module's own
 *    local branch. The global branch is trained by the sum of all local modules' losses (one
 *    optimiser over every parameter, methods.md 0.4); it is never reached by the last module's
 *    loss, which trains the real tail. Backbone modules stay gradient-isolated from one another:
 *    module i's loss reaches backbone module i, its local branch and the global branch only.
 *    The global branch is separate from the real tail: sharing the real tail's weights would let
 *    every local loss train the last module.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Init } from '../../nets/resnet-model';
import { Conv, Reconstruction, ResBlock, type SrScale } from './edsr';
import { l1Loss, type SrLocalHead } from './sr-local-heads';

export type GlcanBank = 'head' | 'none';

export interface GlcanSrSettings {
  /** Most SLM blocks in a local branch (capped by the backbone blocks after the module). */
  slmBlocks: number;
  bank: GlcanBank;
}

export const GLCAN_SR_DEFAULTS: GlcanSrSettings = { slmBlocks: 2, bank: 'head' };

/** The global branch: the task head every local module's auxiliary net ends in. */
export type GlcanGlobalBranch = Reconstruction;

export function createGlcanGlobalBranch(features: number, scale: SrScale, seed: number): GlcanGlobalBranch {
  return new Reconstruction(features, scale, new Init(seed));
}

export interface GlcanHeadOptions {
  features: number;
  resScale: number;
  /** Backbone residual blocks after this module. */
  blocksAfter: number;
  settings: GlcanSrSettings;
  global: GlcanGlobalBranch;
  seed: number;
}

/** One local module's GLCAN auxiliary net: its own SLM blocks + body conv, the bank's F0, the shared global branch. */
export function createGlcanSrHead(options: GlcanHeadOptions): SrLocalHead {
  const { features, resScale, blocksAfter, settings, global, seed } = options;
  if (!(Number.isInteger(settings.slmBlocks) && settings.slmBlocks >= 0 && settings.slmBlocks <= 64)) {
    throw new Error(`GLCAN's SLM block count must be a whole number from 0 to 64 (got ${settings.slmBlocks}).`);
  }
  const init = new Init(seed);
  const count = Math.min(settings.slmBlocks, blocksAfter);
  const blocks = Array.from({ length: count }, (_, b) => new ResBlock({ kind: 'block', block: b, output: [0, 0, features], params: 0 }, features, resScale, init));
  const body = new Conv(features, features, init);
  const predict = ({ h, bank }: { h: tf.Tensor4D; bank: tf.Tensor4D }) =>
    tf.tidy(() => {
      const z = body.apply(blocks.reduce((x, block) => block.forward(x), h));
      return global.apply(settings.bank === 'head' ? tf.add(z, bank) : z);
    });
  return {
    predict,
    loss: (input) => tf.tidy(() => l1Loss(predict(input), input.hr)),
    ownVariables: [...blocks.flatMap((b) => b.trainableVariables), ...body.variables],
    sharedVariables: global.variables,
    dispose: () => {
      for (const b of blocks) b.dispose();
      body.dispose();
    },
  };
}
