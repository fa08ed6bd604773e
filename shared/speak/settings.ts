/**
 * A talking-head (SPEAK) training run's settings, validated once here for the CLI, the launcher
 * and the job system. The trainer runs three stages in order (SyncNet, IRFD, generator); each
 * stage's own widths and loss weights live under `model.<stage>` and are checked by that
 * stage's factory, so this schema only fixes what the trainer itself uses.
 */
import { z } from 'zod';
import { BACKEND_IDS } from '../ids';

/** The resolutions the model is built for: 64 on a CPU (the shipped model), 256 on a GPU. */
export const SPEAK_SIZES = [64, 128, 256] as const;
export type SpeakSize = (typeof SPEAK_SIZES)[number];

/** The eight MEAD emotions, as main/speak/corpus/emotions.ts names them (a test keeps the two equal). */
export const SPEAK_EMOTIONS = ['angry', 'contempt', 'disgusted', 'fear', 'happy', 'neutral', 'sad', 'surprised'] as const;

const whole = (min: number, max: number) => z.number().int().min(min).max(max);

/** Procedural people from the corpus renderer, made in memory (no corpus folder needed). */
const proceduralData = z
  .object({
    source: z.literal('procedural'),
    /** People [first, first + identities) of the seed's population (held-out sets use another range). */
    identities: whole(1, 500).default(8),
    first: whole(0, 100_000).default(0),
    /** Seed of the population, their sentences and motion. */
    seed: whole(0, 2 ** 31 - 1).default(0),
    emotions: z.array(z.enum(SPEAK_EMOTIONS)).min(1).optional(),
    /** MEAD levels of the non-neutral emotions. */
    levels: z.array(whole(1, 3)).min(1).optional(),
    /** Cut every clip to this many frames (25 fps). */
    maxFrames: whole(1, 10_000).optional(),
  })
  .strict();

/** A MEAD-style folder on disk (`blockwise speak corpus` writes one; real corpora read the same way). */
const corpusData = z
  .object({
    source: z.literal('corpus'),
    dir: z.string().min(1, 'needs the corpus folder'),
    /** People kept out of training for evaluation, chosen by `seed` (main/speak/data/identity-split.ts) [none]. */
    heldOut: whole(0, 100_000).default(0),
    seed: whole(0, 2 ** 31 - 1).default(0),
  })
  .strict();

const stageSteps = whole(0, 10_000_000);
const stageSettings = z.record(z.string(), z.unknown());

export const talkingHeadSettings = z
  .object({
    /** Frame side in pixels. */
    size: z.union([z.literal(64), z.literal(128), z.literal(256)], { error: 'must be 64, 128 or 256 (pixels)' }).default(64),
    /** Seed of every weight's initial value and of every batch the stages draw. */
    seed: whole(0, 2 ** 31 - 1).default(0),
    data: z.discriminatedUnion('source', [proceduralData, corpusData]).default({ source: 'procedural', identities: 8, first: 0, seed: 0 }),
    /** Optimiser steps per stage, run in this order; 0 skips training a stage (a later stage still builds on it). */
    steps: z.object({ syncnet: stageSteps.default(300), irfd: stageSteps.default(300), generator: stageSteps.default(300) }).strict().default({ syncnet: 300, irfd: 300, generator: 300 }),
    /** Adam's learning rate for every stage (the paper: 1e-4). */
    lr: z.number().positive().max(1).default(1e-4),
    /** Checkpoint every this many steps (and when cancelled). */
    checkpointEvery: whole(1, 1_000_000).default(50),
    backend: z.enum(BACKEND_IDS).optional(),
    /** Each stage's own settings (widths, loss weights, batch size), checked by its factory. */
    model: z.object({ syncnet: stageSettings.default({}), irfd: stageSettings.default({}), generator: stageSettings.default({}) }).strict().default({ syncnet: {}, irfd: {}, generator: {} }),
  })
  .strict()
  .refine((s) => s.steps.syncnet + s.steps.irfd + s.steps.generator > 0, { path: ['steps'], message: 'every stage has 0 steps, so there is nothing to train; give at least one stage some steps' });

export type TalkingHeadSettings = z.output<typeof talkingHeadSettings>;
export type TalkingHeadInput = z.input<typeof talkingHeadSettings>;
