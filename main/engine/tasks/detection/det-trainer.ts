/**
 * Training and evaluation of the FCOS-style detector (./detector.ts) with the three methods of
 * issue 16, on the super-resolution half's split machinery (../super-resolution/sr-trainer.ts):
 *
 *   e2e    one module: the real head's FCOS loss back-propagated through the whole net.
 *   local  the backbone cut after blocks into K modules (srModuleRanges: the stem with the first,
 *          the FPN + head with the last); every module but the last is trained by its own
 *          DGL-style head on its own map (./det-local-heads.ts), the last by the real head's loss.
 *   glcan  the same cut, every module but the last trained by its GLCAN auxiliary net
 *          (./glcan-det.ts: own SLM blocks + local FPN over the bank's taps + the global FCOS head
 *          shared by all).
 *
 * Module i runs on module i-1's output held constant, and the pyramid taps C3-C5 made by earlier
 * modules arrive as constants too (the real FPN of the last module reads them: no gradient flows
 * back into earlier modules through them); its loss is differentiated with respect to its own
 * variables only; all gradients go into one Adam step.
 */
import * as tf from '@tensorflow/tfjs-core';
import { accumulateGradients, type PhaseHook, type StepGradients } from '../../train/trainer';
import { evenSrCuts } from '../super-resolution/edsr';
import { createTaskOptimizer, methodModuleRanges, TASK_METHODS, type TaskMethod, TaskTrainer } from '../task-trainer';
import type { Detection, LabelledBox } from './boxes';
import { type DetImage, imagesToTensor, type DetSample } from './det-data';
import { createDglDetHead, type DetLocalHead } from './det-local-heads';
import { type DetBackboneUnit, type DetectorModel, type DetFlow, runDetUnits } from './detector';
import { assignTargets, decodeDetections, type DecodeOptions, fcosLoss } from './fcos';
import { createGlcanDetGlobalBranch, createGlcanDetHead, type GlcanDetGlobalBranch } from './glcan-det';
import { type MapScores, meanAveragePrecision } from './map';

export type DetMethod = TaskMethod;
export const DET_METHODS = TASK_METHODS;

/** Cuts for K modules, the blocks shared as evenly as possible (cuts are backbone block indices 0..B-1). */
export const evenDetCuts = (model: DetectorModel, k: number): number[] => evenSrCuts(model.units.length - 1, k);

export interface DetTrainerOptions {
  model: DetectorModel;
  method: DetMethod;
  /** Backbone block indices (0-based, stem excluded) a module ends after; ignored for e2e. */
  cuts: readonly number[];
  /** Convs per tower of the DGL-style local head (default 1). */
  localTowerConvs?: number;
  /** Width of the DGL-style local head (default: the module's own output width, a small head on a high-resolution map). */
  localWidth?: number;
  /** Seeds the auxiliary nets' weights. */
  seed: number;
}

export interface DetModule {
  units: DetBackboneUnit[];
  /** Whether this module ends with the real FPN + head (the last module). */
  tail: boolean;
  /** The auxiliary net, or null for the last module. */
  head: DetLocalHead | null;
}

export class DetTrainer extends TaskTrainer<DetModule> {
  readonly method: DetMethod;
  readonly modules: DetModule[];
  /** GLCAN's global branch (the FCOS head shared by every local module's auxiliary net); null otherwise. */
  readonly global: GlcanDetGlobalBranch | null;
  readonly model: DetectorModel;

  constructor(options: DetTrainerOptions) {
    super();
    const { model, method, seed } = options;
    const blocks = model.units.length - 1;
    // Units numbered head = 0, block b = 1 + b, tail = B + 1: here stem, blocks, and the real tail (FPN + head).
    const ranges = methodModuleRanges(method, blocks, options.cuts, { task: 'detection', block: 'backbone block' });
    this.model = model;
    this.method = method;
    this.global = method === 'glcan' ? createGlcanDetGlobalBranch(model.config, seed * 1000 + 999) : null;
    this.modules = ranges.map(({ first, last }, i) => {
      const isLast = i === ranges.length - 1;
      const units = model.units.slice(first, Math.min(last + 1, model.units.length));
      if (isLast) return { units, tail: true, head: null };
      const end = units.at(-1)!.info;
      const headSeed = seed * 1000 + i;
      const head =
        method === 'local'
          ? createDglDetHead({ inChannels: (end.output as number[])[2]!, stride: end.stride, width: options.localWidth ?? (end.output as number[])[2]!, classes: model.config.classes, towerConvs: options.localTowerConvs ?? 1, seed: headSeed })
          : createGlcanDetHead({ config: model.config, end, global: this.global!, seed: headSeed });
      return { units, tail: false, head };
    });
  }

  /** A module's backbone units, and the real tail (FPN + head) for the last. */
  protected override netVariables(m: DetModule): tf.Variable[] {
    return [...m.units.flatMap((u) => u.trainableVariables), ...(m.tail ? this.model.tail.trainableVariables : [])];
  }

  /** Auxiliary nets' BatchNorm statistics (GLCAN's SLM blocks): state a checkpoint keeps beside the model. */
  auxiliaryState(): tf.Variable[] {
    return this.modules.flatMap((m) => m.head?.stateVariables ?? []);
  }

  /**
   * Module `index`'s loss on its input flow (the images for module 0; module index-1's output and
   * the taps so far, as constants, after it) and its output flow (null for the last module). Run
   * it inside a gradient tape: the trainer differentiates exactly this.
   */
  moduleObjective(index: number, flow: DetFlow, boxes: readonly (readonly LabelledBox[])[], size: number): { loss: tf.Scalar; next: DetFlow | null } {
    const module = this.modules[index];
    if (!module) throw new RangeError(`module ${index} does not exist: this trainer has ${this.modules.length} modules`);
    const out = runDetUnits(module.units, flow, true);
    if (!module.head) {
      const loss = tf.tidy(() => fcosLoss(this.model.tail.apply(out.taps), assignTargets(boxes, this.model.levels, size)));
      return { loss, next: null };
    }
    return { loss: module.head.loss(out, boxes, size), next: out };
  }

  /** Every module's local gradients for one batch (images [N, S, S, C] in [0, 1], boxes per image); one phase per module. */
  computeGradients(images: tf.Tensor4D, boxes: readonly (readonly LabelledBox[])[], onPhase?: PhaseHook): StepGradients {
    const size = images.shape[1];
    if (images.shape[2] !== size) throw new Error(`Detection batches must be square images, got ${images.shape[1]}x${images.shape[2]}`);
    if (boxes.length !== images.shape[0]) throw new Error(`${images.shape[0]} images but boxes for ${boxes.length}`);
    const grads = new Map<tf.Variable, tf.Tensor>();
    const losses: tf.Scalar[] = [];
    let flow: DetFlow = { h: images, taps: [null, null, null] };
    const owned = new Set<tf.Tensor>();
    try {
      this.modules.forEach((_, i) => {
        onPhase?.(i);
        let next: DetFlow | null = null;
        const input = flow;
        const loss = accumulateGradients(
          grads,
          () => {
            const result = this.moduleObjective(i, input, boxes, size);
            // Kept past the tape: the next module's constant input and the bank's taps.
            if (result.next) {
              const keep = (t: tf.Tensor4D) => {
                if (!owned.has(t)) owned.add(tf.keep(t));
                return t;
              };
              next = { h: keep(result.next.h), taps: result.next.taps.map((t) => (t ? keep(t) : null)) };
            }
            return result.loss;
          },
          this.moduleVariables(i),
          [],
        );
        losses.push(loss);
        // The previous map is no longer needed unless it is a tap.
        if (input.h !== images && !(next as DetFlow | null)?.taps.includes(input.h)) {
          owned.delete(input.h);
          input.h.dispose();
        }
        if (next) flow = next;
      });
    } finally {
      tf.dispose([...owned]);
    }
    return { grads, losses };
  }

  /**
   * One simultaneous step: every module's gradients, then one optimiser update. Returns the losses
   * (the caller owns them). Phases: one per module, then the update (phase K), whose peak a memory
   * probe reports apart (TF.js's Adam keeps every variable's temporaries until it has updated all).
   */
  step(images: tf.Tensor4D, boxes: readonly (readonly LabelledBox[])[], optimizer: tf.Optimizer, onPhase?: PhaseHook): tf.Scalar[] {
    const gradients = this.computeGradients(images, boxes, onPhase);
    onPhase?.(this.modules.length);
    return this.update(gradients, optimizer);
  }
}

export const createDetOptimizer = createTaskOptimizer;

/** Boxes, classes and scores the net finds on images of its training size (eval-mode BatchNorm), batch by batch. */
export function detectBatch(model: DetectorModel, images: readonly DetImage[], options: Partial<DecodeOptions> = {}): Detection[][] {
  const size = images[0]?.width ?? 0;
  if (images.some((img) => img.width !== size || img.height !== size)) throw new Error(`Detection needs square images of one size; resize them to ${size}x${size} first`);
  const x = imagesToTensor(images);
  try {
    const pred = model.forward(x, false);
    try {
      return decodeDetections(pred, model.levels, size, options);
    } finally {
      tf.dispose([pred.cls, pred.reg, pred.ctr]);
    }
  } finally {
    x.dispose();
  }
}

/** The net's detections on one image: for previews (boxes in the image's pixels, class indices, scores). */
export function detect(model: DetectorModel, image: DetImage, options: Partial<DecodeOptions> = {}): Detection[] {
  return detectBatch(model, [image], options)[0]!;
}

/** mAP@0.5 and COCO mAP@[.5:.95] of the net on `samples` (batches of `batch` images, to bound memory). */
export function evaluateDetection(model: DetectorModel, samples: readonly DetSample[], batch = 16): MapScores {
  if (samples.length === 0) throw new Error('Evaluating detection needs at least one image');
  const results = [];
  for (let start = 0; start < samples.length; start += batch) {
    const chunk = samples.slice(start, start + batch);
    const found = detectBatch(model, chunk.map((s) => s.image));
    results.push(...chunk.map((s, i) => ({ detections: found[i]!, truth: s.boxes })));
  }
  return meanAveragePrecision(results, model.config.classes);
}
