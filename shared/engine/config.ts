/**
 * A training run's settings, validated once here for the CLI, the launcher and the job system.
 * Defaults follow methods.md 0.4 scaled down for CPU runs; every field says its range.
 */
import { z } from 'zod';
import { BACKEND_IDS } from '../ids';
import { RESNET_DEPTHS } from './resnet';

/** Methods the trainer runs today; HPFF, MAN and the combinations join this list as they land. */
export const TRAINABLE_METHODS = ['e2e', 'greedy', 'dgl', 'infopro'] as const;
export type TrainableMethod = (typeof TRAINABLE_METHODS)[number];

const cut = z.tuple([z.number().int(), z.number().int()]);

export const trainConfig = z
  .object({
    /** Registered data set id: 'mnist' or 'ds-<n>'. */
    dataset: z.string().min(1).default('mnist'),
    depth: z
      .number()
      .int()
      .refine((d) => (RESNET_DEPTHS as readonly number[]).includes(d), `must be one of ${RESNET_DEPTHS.join(', ')} (ResNet-6n+2)`)
      .default(8),
    method: z.enum(TRAINABLE_METHODS).default('infopro'),
    /** A preset id of splitPresets(depth) (e.g. 'k4', 'per-block') or an explicit InfoPro-style cut list. */
    split: z.union([z.string().min(1), z.array(cut)]).default('per-block'),
    infopro: z
      .object({
        auxConfig: z.enum(['0c1f', '0c2f', '1c1f', '1c2f', '1c3f', '2c2f']).default('1c2f'),
        lossMode: z.enum(['contrast', 'cross_entropy']).default('contrast'),
      })
      .default({ auxConfig: '1c2f', lossMode: 'contrast' }),
    epochs: z.number().int().min(1).max(1000).default(1),
    batchSize: z.number().int().min(2).max(4096).default(64),
    /** Peak learning rate lr0 of the schedule. */
    lr: z.number().positive().max(10).default(0.1),
    /**
     * 'cosine-steps' (default): cosine over the run's steps, from lr0 to 0; 'cosine': the
     * reference's per-epoch reading (lr c(e) set at the start of epoch e, 0 in the last epoch,
     * meant for long runs); 'step': x0.1 at epochs 80 and 120.
     */
    schedule: z.enum(['cosine-steps', 'cosine', 'step']).default('cosine-steps'),
    /** Warm-up epochs of the cosine schedule (the papers use 10 of 160-400). */
    warmupEpochs: z.number().int().min(0).max(100).default(0),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
    backend: z.enum(BACKEND_IDS).optional(),
    /** Train and test on at most this many images per epoch: quick runs and tests. */
    trainLimit: z.number().int().positive().optional(),
    testLimit: z.number().int().positive().optional(),
    augment: z.boolean().default(true),
  })
  .strict();

export type TrainConfig = z.output<typeof trainConfig>;
export type TrainConfigInput = z.input<typeof trainConfig>;
