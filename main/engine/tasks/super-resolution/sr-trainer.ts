/**
 * Training and evaluation of an EDSR for super-resolution with the three methods of issue 16:
 *
 *   e2e    one module: L1 of the net's output against the HR image, back-propagated through all.
 *   local  the net cut into K modules; every module but the last is trained by its own simple
 *          auxiliary head's L1 (./sr-local-heads.ts), the last by the real tail's L1.
 *   glcan  the same cut, every module but the last trained by its GLCAN auxiliary net
 *          (./glcan-sr.ts: own SLM branch + the feature bank's F0 + a global branch shared by all).
 *
 * As the classification trainer (../../train/local-trainer.ts, methods.md 4.3, 0.4): module i runs
 * on module i-1's output held constant, its loss is differentiated with respect to its own
 * variables only (backbone units, its auxiliary net, and for GLCAN the shared global branch), its
 * activations are freed, and its output is handed on; all gradients go into one optimiser step.
 * The head's output F0 (the global skip and GLCAN's bank) is handed on as a constant too.
 *
 * Evaluation follows the SR papers: the output is clipped to [0, 1] and quantised to 8 bits,
 * then PSNR and SSIM are computed on BT.601 luma Y with `scale` pixels cropped from each border
 * (main/metrics/image-quality.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { psnrY, rgbBytes, ssimY } from '../../../metrics/image-quality';
import type { RgbImage } from '../../../data/image-codec';
import { accumulateGradients, type PhaseHook, type StepGradients } from '../../train/trainer';
import { createTaskOptimizer, methodModuleRanges, TASK_METHODS, type TaskMethod, TaskTrainer } from '../task-trainer';
import { type EdsrModel, runSrUnits, type SrFlow, type SrUnit } from './edsr';
import { createGlcanGlobalBranch, createGlcanSrHead, GLCAN_SR_DEFAULTS, type GlcanGlobalBranch, type GlcanSrSettings } from './glcan-sr';
import { createSimpleSrHead, l1Loss, type SrLocalHead } from './sr-local-heads';
import { imageToTensor } from './sr-data';

export type SrMethod = TaskMethod;
export const SR_METHODS = TASK_METHODS;

export interface SrTrainerOptions {
  model: EdsrModel;
  method: SrMethod;
  /** Residual block indices a module ends after (./edsr.ts srModuleRanges); ignored for e2e. */
  cuts: readonly number[];
  /** Convs before the upsampler in the simple local head (Local-SR: 3). */
  localConvs?: number;
  glcan?: Partial<GlcanSrSettings>;
  /** Seeds the auxiliary nets' weights. */
  seed: number;
}

export interface SrModule {
  units: SrUnit[];
  /** The auxiliary net, or null for the last module (trained by the real tail). */
  head: SrLocalHead | null;
}

export class SrTrainer extends TaskTrainer<SrModule> {
  readonly method: SrMethod;
  readonly modules: SrModule[];
  /** GLCAN's global branch (shared by every local module's auxiliary net); null otherwise. */
  readonly global: GlcanGlobalBranch | null;

  constructor(options: SrTrainerOptions) {
    super();
    const { model, method, seed } = options;
    const { features, scale, blocks, resScale } = model.config;
    const ranges = methodModuleRanges(method, blocks, options.cuts, { task: 'super-resolution', block: 'residual block' });
    const settings: GlcanSrSettings = { ...GLCAN_SR_DEFAULTS, ...options.glcan };
    this.method = method;
    this.global = method === 'glcan' ? createGlcanGlobalBranch(features, scale, seed * 1000 + 999) : null;
    this.modules = ranges.map(({ first, last }, i) => {
      const units = model.units.slice(first, last + 1);
      if (i === ranges.length - 1 || method === 'e2e') return { units, head: null };
      const headSeed = seed * 1000 + i;
      const head =
        method === 'local'
          ? createSimpleSrHead({ features, scale, convs: options.localConvs ?? 3, seed: headSeed })
          : // Backbone blocks after this module: unit `last` is block last-1, so R - last remain.
            createGlcanSrHead({ features, resScale, blocksAfter: blocks - last, settings, global: this.global!, seed: headSeed });
      return { units, head };
    });
  }

  /**
   * Module `index`'s loss on its input flow (the LR image for module 0; module index-1's output and
   * the head's F0, as constants, after it), and its output flow (null for the last module). Run it
   * inside a gradient tape: the trainer differentiates exactly this.
   */
  moduleObjective(index: number, flow: SrFlow, hr: tf.Tensor4D): { loss: tf.Scalar; next: SrFlow | null } {
    const module = this.modules[index];
    if (!module) throw new RangeError(`module ${index} does not exist: this trainer has ${this.modules.length} modules`);
    const out = runSrUnits(module.units, flow);
    if (!module.head) return { loss: l1Loss(out.h, hr), next: null };
    // The bank: F0 of this step (module 0 made it just now, live; later modules got it as a constant).
    return { loss: module.head.loss({ h: out.h, bank: out.skip!, hr }), next: out };
  }

  /** Every module's local gradients for one batch (LR [N, H, W, 3], HR [N, sH, sW, 3], both in [0, 1]); one phase per module. */
  computeGradients(lr: tf.Tensor4D, hr: tf.Tensor4D, onPhase?: PhaseHook): StepGradients {
    const grads = new Map<tf.Variable, tf.Tensor>();
    const losses: tf.Scalar[] = [];
    let flow: SrFlow = { h: lr, skip: null };
    try {
      this.modules.forEach((_, i) => {
        onPhase?.(i);
        let next: SrFlow | null = null;
        const input = flow;
        const loss = accumulateGradients(
          grads,
          () => {
            const result = this.moduleObjective(i, input, hr);
            // Kept past the tape: the next module's constant input. F0 is kept once, by module 0.
            if (result.next) next = { h: tf.keep(result.next.h), skip: result.next.skip === input.skip ? input.skip : tf.keep(result.next.skip!) };
            return result.loss;
          },
          this.moduleVariables(i),
          [],
        );
        losses.push(loss);
        if (input.h !== lr) input.h.dispose();
        if (next) flow = next;
      });
    } finally {
      if (flow.h !== lr) flow.h.dispose();
      flow.skip?.dispose();
    }
    return { grads, losses };
  }

  /** One simultaneous step: every module's gradients, then one optimiser update. Returns the losses (the caller owns them). */
  step(lr: tf.Tensor4D, hr: tf.Tensor4D, optimizer: tf.Optimizer, onPhase?: PhaseHook): tf.Scalar[] {
    return this.update(this.computeGradients(lr, hr, onPhase), optimizer);
  }
}

export const createSrOptimizer = createTaskOptimizer;

/** The net's SR image for one LR image: clipped to [0, 1] and quantised to 8 bits, as SR papers save and score it. */
export function superResolve(model: EdsrModel, lr: RgbImage): RgbImage {
  const data = tf.tidy(() => {
    const out = model.forward(tf.expandDims(imageToTensor(lr), 0) as tf.Tensor4D);
    return tf.round(tf.mul(tf.clipByValue(out, 0, 1), 255));
  });
  const values = data.dataSync();
  data.dispose();
  const scale = model.config.scale;
  return { width: lr.width * scale, height: lr.height * scale, data: Uint8Array.from(values) };
}

export interface SrScores {
  /** Mean over images of PSNR (dB) on Y, border `scale` px cropped. */
  psnr: number;
  /** Mean over images of SSIM on Y, same crop. */
  ssim: number;
  perImage: { psnr: number; ssim: number }[];
}

/** PSNR and SSIM of an SR image against its HR image: 8-bit RGB, luma Y, `border` px cropped (SR papers: the scale). */
export function scoreSr(sr: RgbImage, hr: RgbImage, border: number): { psnr: number; ssim: number } {
  if (sr.width !== hr.width || sr.height !== hr.height) throw new Error(`The SR image is ${sr.width}x${sr.height} but the HR image is ${hr.width}x${hr.height}; crop the HR image to a multiple of the scale (modcrop) first`);
  const a = rgbBytes(sr.data, sr.width, sr.height);
  const b = rgbBytes(hr.data, hr.width, hr.height);
  return { psnr: psnrY(a, b, 255, border), ssim: ssimY(a, b, { peak: 255 }, border) };
}

/** The net's mean PSNR/SSIM over LR/HR pairs (one image at a time, to bound memory). */
export function evaluateSr(model: EdsrModel, pairs: readonly { lr: RgbImage; hr: RgbImage }[]): SrScores {
  if (pairs.length === 0) throw new Error('Evaluating super-resolution needs at least one LR/HR pair');
  const perImage = pairs.map(({ lr, hr }) => scoreSr(superResolve(model, lr), hr, model.config.scale));
  const mean = (key: 'psnr' | 'ssim') => perImage.reduce((s, r) => s + r[key], 0) / perImage.length;
  return { psnr: mean('psnr'), ssim: mean('ssim'), perImage };
}
