/**
 * The tasks the studio trains, and the settings of the tasks beyond classification.
 *
 * Shape: one job kind per task (`local-learning` is classification, `super-resolution`,
 * `detection` later), not a task field inside the classification settings. The run table, the
 * compare view and the split editor are already shared by every kind (a run row keeps its kind
 * and its settings as JSON; method, data set and K are read from the same JSON keys), while each
 * task's settings, trainer and metrics differ in almost every field: a kind per task keeps each
 * schema strict and its worker separate, and adding detection is adding a kind, not a branch in
 * every classification code path.
 *
 * Super-resolution settings are checked here once, for the launcher and `runs:start`; the net's
 * own limits (./../../main/engine/tasks/super-resolution/edsr.ts) are checked again when it is built.
 */
import { z } from 'zod';
import { BACKEND_IDS, type JobKind } from '../ids';

export const TASKS = ['classification', 'super-resolution', 'detection'] as const;
export type Task = (typeof TASKS)[number];

/** The job kind that trains each task. */
export const TASK_KIND: Record<Task, JobKind | null> = {
  classification: 'local-learning',
  'super-resolution': 'super-resolution',
  detection: 'detection',
};

export const TASK_LABELS: Record<Task, string> = {
  classification: 'Classification',
  'super-resolution': 'Super-resolution',
  detection: 'Object detection',
};

/** The task a run of this kind trains (talking heads are not a local-learning task). */
export function taskOfKind(kind: JobKind): Task | null {
  return (Object.keys(TASK_KIND) as Task[]).find((t) => TASK_KIND[t] === kind) ?? null;
}

export const SR_METHODS = ['e2e', 'local', 'glcan'] as const;
export type SrMethodId = (typeof SR_METHODS)[number];

export const SR_METHOD_LABELS: Record<SrMethodId, string> = {
  e2e: 'End-to-end',
  local: 'Simple local heads',
  glcan: "GLCAN (this studio's reading; the paper's v1 design is not public)",
};

const whole = (min: number, max: number) => z.number().int().min(min).max(max);

export const superResolutionSettings = z
  .object({
    /** An imported image folder (Data sets): its train images give patches, its test images the scores and preview. */
    dataset: z.string().min(1, 'choose an image folder from the Data sets workspace').max(40),
    scale: z.union([z.literal(2), z.literal(3), z.literal(4)], { error: 'must be 2, 3 or 4' }).default(2),
    /** EDSR feature width F (the EDSR baseline: 64). */
    features: whole(1, 256).default(16),
    /** EDSR residual blocks R (the EDSR baseline: 16). */
    blocks: whole(1, 64).default(4),
    /** Multiplier on each block's residual branch (EDSR: 1; its wide net: 0.1). */
    resScale: z.number().gt(0).max(1).default(1),
    method: z.enum(SR_METHODS, { error: 'must be e2e, local or glcan' }).default('e2e'),
    /** Residual block indices a module ends after (0 .. blocks - 1); none for end-to-end. */
    cuts: z.array(whole(0, 63)).max(63).default([]),
    /** GLCAN: most shortened backbone blocks in each auxiliary net, and whether it reads the head's bank. */
    glcan: z.object({ slmBlocks: whole(0, 16).default(2), bank: z.enum(['head', 'none']).default('head') }).strict().optional(),
    /** Simple local heads: convs before the upsampler (Local-SR: 3). */
    localConvs: whole(1, 8).optional(),
    epochs: whole(1, 10_000).default(2),
    /** Optimiser steps per epoch; each epoch ends with an evaluation, a preview and a checkpoint. */
    stepsPerEpoch: whole(1, 100_000).default(20),
    batchSize: whole(1, 256).default(8),
    /** Side of the low-resolution training patch in pixels (the HR patch is patch x scale). */
    patch: whole(4, 256).default(24),
    lr: z.number().positive().max(1).default(1e-3),
    seed: whole(0, 2 ** 31 - 1).default(0),
    /** Training photographs read (the first ones of the train split; absent: all). Each is kept decoded, with its low-res copy, for the whole run. */
    trainImages: whole(1, 100_000).optional(),
    /** Test images scored each epoch (the first ones of the test split). */
    evalImages: whole(1, 100).default(4),
    /** Evaluation and preview use the centre evalCrop x evalCrop of each low-resolution test image (whole image if smaller). */
    evalCrop: whole(8, 512).default(48),
    backend: z.enum(BACKEND_IDS).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    for (const [i, c] of s.cuts.entries()) {
      if (c >= s.blocks) ctx.addIssue({ code: 'custom', path: ['cuts', i], message: `cut ${c} does not exist: the net has ${s.blocks} residual blocks, so cuts go from 0 to ${s.blocks - 1}` });
    }
    if (new Set(s.cuts).size !== s.cuts.length) ctx.addIssue({ code: 'custom', path: ['cuts'], message: 'a cut is listed twice' });
    if (s.method === 'e2e' && s.cuts.length) ctx.addIssue({ code: 'custom', path: ['cuts'], message: 'end-to-end training has no cuts; clear them or choose a local method' });
    if (s.method !== 'e2e' && !s.cuts.length) ctx.addIssue({ code: 'custom', path: ['cuts'], message: `${s.method} needs at least one cut (a residual block a module ends after); with none it is end-to-end training` });
    if (s.method !== 'glcan' && s.glcan) ctx.addIssue({ code: 'custom', path: ['glcan'], message: 'only GLCAN reads these settings; remove them or choose glcan' });
    if (s.method !== 'local' && s.localConvs !== undefined) ctx.addIssue({ code: 'custom', path: ['localConvs'], message: 'only the simple local heads read this; remove it or choose local' });
  });

export type SuperResolutionSettings = z.output<typeof superResolutionSettings>;
export type SuperResolutionInput = z.input<typeof superResolutionSettings>;

/** Metric keys a super-resolution run records per epoch (evaluation). */
export const SR_METRICS = { psnr: 'test_psnr', ssim: 'test_ssim' } as const;

// ---------------------------------------------------------------- detection

export const DET_METHODS = ['e2e', 'local', 'glcan'] as const;
export type DetMethodId = (typeof DET_METHODS)[number];

export const DET_METHOD_LABELS: Record<DetMethodId, string> = {
  e2e: 'End-to-end',
  local: 'DGL-style local heads',
  glcan: "GLCAN (this studio's reading; the paper's v1 design is not public)",
};

/** The built-in detection set: real MNIST digits scattered on canvases (main/engine/tasks/detection/det-data.ts). */
export const MNIST_CANVAS_DATASET = 'mnist-canvas';
/** Where a detection run's images come from: the built-in canvases, or a folder of images with COCO JSON or Pascal VOC XML boxes. */
export const DET_DATASETS = [MNIST_CANVAS_DATASET, 'coco', 'voc'] as const;
export type DetDatasetId = (typeof DET_DATASETS)[number];

export const detectionSettings = z
  .object({
    dataset: z.enum(DET_DATASETS, { error: `must be "${MNIST_CANVAS_DATASET}" (the built-in MNIST digits on canvases), "coco" or "voc" (a folder, named in folder.path)` }).default(MNIST_CANVAS_DATASET),
    /** A COCO or VOC folder: its path, the square size images are stretched to, the share held out for testing and the seed that draws it. Read when the run starts; nothing is registered. */
    folder: z
      .object({
        path: z.string().refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be an absolute path to the folder'),
        size: whole(32, 1024).default(64),
        testFraction: z.number().min(0.05).max(0.9).default(0.2),
        seed: whole(0, 2 ** 31 - 1).default(0),
      })
      .strict()
      .optional(),
    /** The canvases: side in px, how many per split, and their seed. */
    canvas: z
      .object({ size: whole(32, 256).default(64), train: whole(1, 60_000).default(200), test: whole(1, 10_000).default(50), seed: whole(0, 2 ** 31 - 1).default(1) })
      .strict()
      .default({ size: 64, train: 200, test: 50, seed: 1 }),
    /** Widths of the ResNet backbone's stages 2 to 5. */
    widths: z.tuple([whole(1, 512), whole(1, 512), whole(1, 512), whole(1, 512)]).default([16, 32, 48, 64]),
    blocksPerStage: whole(1, 8).default(1),
    /** FPN and head width. */
    fpn: whole(1, 512).default(32),
    towerConvs: whole(0, 8).default(2),
    method: z.enum(DET_METHODS, { error: 'must be e2e, local or glcan' }).default('e2e'),
    /** Backbone block indices a module ends after (0 .. 4 x blocksPerStage - 1); none for end-to-end. */
    cuts: z.array(whole(0, 31)).max(31).default([]),
    epochs: whole(1, 10_000).default(2),
    stepsPerEpoch: whole(1, 100_000).default(20),
    batchSize: whole(1, 256).default(8),
    lr: z.number().positive().max(1).default(1e-3),
    seed: whole(0, 2 ** 31 - 1).default(0),
    /** Test canvases scored each epoch (the first ones); the preview shows the first four. */
    evalImages: whole(1, 10_000).default(50),
    backend: z.enum(BACKEND_IDS).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const blocks = 4 * s.blocksPerStage;
    for (const [i, c] of s.cuts.entries()) {
      if (c >= blocks) ctx.addIssue({ code: 'custom', path: ['cuts', i], message: `cut ${c} does not exist: the backbone has ${blocks} blocks, so cuts go from 0 to ${blocks - 1}` });
    }
    if (new Set(s.cuts).size !== s.cuts.length) ctx.addIssue({ code: 'custom', path: ['cuts'], message: 'a cut is listed twice' });
    if (s.method === 'e2e' && s.cuts.length) ctx.addIssue({ code: 'custom', path: ['cuts'], message: 'end-to-end training has no cuts; clear them or choose a local method' });
    if (s.method !== 'e2e' && !s.cuts.length) ctx.addIssue({ code: 'custom', path: ['cuts'], message: `${s.method} needs at least one cut (a backbone block a module ends after); with none it is end-to-end training` });
    if (s.dataset === MNIST_CANVAS_DATASET) {
      if (s.folder) ctx.addIssue({ code: 'custom', path: ['folder'], message: 'the built-in canvases read no folder; remove it, or choose dataset "coco" or "voc"' });
      if (s.batchSize > s.canvas.train) ctx.addIssue({ code: 'custom', path: ['batchSize'], message: `a batch of ${s.batchSize} needs at least that many training canvases (canvas.train is ${s.canvas.train})` });
      if (s.evalImages > s.canvas.test) ctx.addIssue({ code: 'custom', path: ['evalImages'], message: `only ${s.canvas.test} test canvases exist (canvas.test); score at most that many` });
    } else if (!s.folder) ctx.addIssue({ code: 'custom', path: ['folder'], message: `a ${s.dataset.toUpperCase()} data set needs folder.path, the folder holding its images and annotations` });
  });

export type DetectionSettings = z.output<typeof detectionSettings>;
export type DetectionInput = z.input<typeof detectionSettings>;

/** Metric keys a detection run records per epoch. */
export const DET_METRICS = { map: 'test_map', map50: 'test_map50' } as const;
