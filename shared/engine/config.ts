/**
 * A training run's settings, validated once here for the CLI, the launcher and the job system.
 * Defaults follow methods.md 0.4 scaled down for CPU runs; every field says its range.
 */
import { z } from 'zod';
import { BACKEND_IDS } from '../ids';
import { starvedModules } from './gradient-reach';
import { resolveSettings, settingsNotApplying } from './resolve-settings';
import { MAN_LAMBDA_INDEXES } from './loss-weights';
import { RESNET_DEPTHS } from './resnet';
import { SplitError, splitCuts } from './splits';

/** Every method the trainer runs: the base methods and HPFF/MAN on a DGL or InfoPro base. */
export const TRAINABLE_METHODS = ['e2e', 'greedy', 'dgl', 'infopro', 'infopro+hpff', 'dgl+hpff', 'infopro+man', 'dgl+man'] as const;
export type TrainableMethod = (typeof TRAINABLE_METHODS)[number];

/** Short names: HPFF and MAN alone mean what their code runs, an InfoPro base. */
export const METHOD_ALIASES: Readonly<Record<string, TrainableMethod>> = { hpff: 'infopro+hpff', man: 'infopro+man' };

/** Why a method's modules cannot train module-parallel (on separate threads); absent when they can. */
const NOT_PIPELINED: Partial<Record<string, string>> = {
  e2e: 'end-to-end training has one module (its gradients cross every layer), so there is nothing to pipeline',
  hpff: "HPFF's modules are coupled: its cascade loss spans two segments, so a segment's gradients depend on the next segment's weights",
  man: "MAN's modules are coupled: each local loss runs the next block's weights (their EMA copy), so a module's gradients depend on the next module",
};

/** Why `method` cannot be trained module-parallel, or null when it can (greedy, DGL, InfoPro). */
export function moduleParallelRefusal(method: TrainableMethod): string | null {
  const reason = NOT_PIPELINED[method] ?? NOT_PIPELINED[method.split('+')[1] ?? ''];
  return reason ? `Module-parallel training is not available for ${method}: ${reason}. It supports greedy, dgl and infopro.` : null;
}

const cut = z.tuple([z.number().int(), z.number().int()]);
/** Auxiliary net shapes: convolutions then fully connected layers (InfoPro's aux_net_config). */
export const AUX_CONFIGS = ['0c1f', '0c2f', '1c1f', '1c2f', '1c3f', '2c2f'] as const;
/** Loss weights lambda_x (reconstruction) and lambda_y (task) at the first and last cut. */
const lambdas = z.object({ ixx1: z.number().min(0), ixy1: z.number().min(0), ixx2: z.number().min(0), ixy2: z.number().min(0) }).strict();
/** HPFF's and MAN's code fuse the stem into the first segment; 'apart' trains it as its own module when the cut list cuts after it ([0, 0]). */
export const STEM_READINGS = ['fused', 'apart'] as const;
const perChannel = z.array(z.number().finite()).min(1).max(4);

/** Every field's own check; stored runs are read with this (../../main/engine/train/run-config.ts). */
export const trainSettings = z
  .object({
    /** Registered data set id: 'mnist' or 'ds-<n>'. */
    dataset: z.string().min(1).default('mnist'),
    depth: z
      .number()
      .int()
      .refine((d) => (RESNET_DEPTHS as readonly number[]).includes(d), `must be one of ${RESNET_DEPTHS.join(', ')} (ResNet-6n+2)`)
      .default(8),
    method: z.preprocess((v) => (typeof v === 'string' ? (METHOD_ALIASES[v.toLowerCase()] ?? v.toLowerCase()) : v), z.enum(TRAINABLE_METHODS)).default('infopro'),
    /** A preset id of splitPresets(depth) (e.g. 'k4', 'per-block') or an explicit InfoPro-style cut list. */
    split: z.union([z.string().min(1), z.array(cut)]).default('per-block'),
    infopro: z
      .object({
        auxConfig: z.enum(AUX_CONFIGS).default('1c2f'),
        lossMode: z.enum(['contrast', 'cross_entropy']).default('contrast'),
        /** Default: the InfoPro commands' values for the nearest K (main/engine/methods/local-heads.ts). */
        lambdas: lambdas.optional(),
      })
      .strict()
      .prefault({}),
    /** HPFF (methods.md 1): Patch Feature Fusion reading and the code's level weights. */
    hpff: z
      .object({
        pff: z.enum(['code', 'paper', 'none']).default('code'),
        independentWeight: z.number().min(0).default(0.001),
        cascadeWeight: z.number().min(0).default(0.999),
        auxConfig: z.enum(AUX_CONFIGS).default('2c2f'),
        /** Default: the README's (5, 0.5) -> (0, 0) where it reaches every module (./gradient-reach.ts withDefaultLambdas). */
        lambdas: lambdas.optional(),
        stem: z.enum(STEM_READINGS).default('fused'),
      })
      .strict()
      .prefault({}),
    /**
     * MAN (methods.md 2): EMA decay, learnable-bias reading, lambda schedule. lambdaIndex
     * 'module' (default: r = i / (K - 2), as InfoPro and HPFF) or 'stage' (the MAN code's
     * reading, which gives every cut the end weights (0, 0) for K < 5: refused there below).
     */
    man: z
      .object({
        decay: z.number().min(0).max(1).default(0.995),
        bias: z.enum(['block', 'vector', 'none']).default('block'),
        lambdaIndex: z.enum(MAN_LAMBDA_INDEXES).default('module'),
        auxConfig: z.enum(AUX_CONFIGS).default('2c2f'),
        /** Default as HPFF's. */
        lambdas: lambdas.optional(),
        stem: z.enum(STEM_READINGS).default('fused'),
      })
      .strict()
      .prefault({}),
    /**
     * 'reference': the auxiliary losses back-propagated as the papers' code does; 'lean': the same
     * gradients with less memory (one auxiliary loss graph alive at a time; HPFF forwards each
     * segment twice instead of three times). main/engine/train/loss-parts.ts.
     */
    execution: z.enum(['reference', 'lean']).default('reference'),
    /**
     * Module-parallel training: the modules are spread over this many worker threads and
     * pipelined (stage s on batch t while stage s+1 is on batch t-1); same result as 1
     * (sequential). Greedy, DGL and InfoPro only; at most one stage per module.
     */
    stages: z.number().int().min(1).max(16).default(1),
    /**
     * Data-parallel training: every batch is cut into this many shards, each trained on its own
     * worker thread, their gradients summed in shared memory (main/engine/parallel/data-parallel-trainer.ts;
     * BatchNorm statistics per shard, running statistics averaged). Absent: as many as the
     * machine has cores (1 with stages > 1), resolved and stored when the run is created.
     */
    workers: z.number().int().min(1).max(64).optional(),
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
    /**
     * What the network is fed: `pad` zero pixels added on every side of every image before
     * augmentation (MNIST 28 -> 32 with 2, as most local-learning code pads it); `normalization`
     * per channel on the 0..1 scale (default: the data set's, main/data/preprocess.ts). The
     * stored run records both resolved.
     */
    input: z
      .object({
        pad: z.number().int().min(0).max(64).optional(),
        normalization: z
          .object({ mean: perChannel, std: perChannel.refine((v) => v.every((x) => x > 0), 'every std must be above 0') })
          .strict()
          .refine((n) => n.mean.length === n.std.length, 'mean and std need one value per channel each')
          .optional(),
      })
      .strict()
      .prefault({}),
    /**
     * The built-in MNIST's train/test split: the shuffle's seed and how many test images each class
     * keeps (the rest train), or the fraction of each class (default 20%). Other data sets' splits
     * come from their files, so this is refused for them.
     */
    dataSplit: z
      .object({
        seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
        testPerClass: z.number().int().min(1).max(800).optional(),
        testFraction: z.number().gt(0).lt(1).optional(),
      })
      .strict()
      .refine((d) => d.testPerClass === undefined || d.testFraction === undefined, 'give testPerClass or testFraction, not both')
      .prefault({}),
  })
  .strict();

/**
 * A new run's settings: every field, a setting the method does not read refused when it is not
 * its default (./resolve-settings.ts), the defaults that depend on the method and split resolved
 * (InfoPro's and HPFF's/MAN's loss weights, DGL+HPFF's PFF reading), so the stored config says
 * which values the run used, then the rule that each local module
 * receives some gradient (./gradient-reach.ts), so a run cannot silently leave a module
 * untrained. The CLI, the launcher and `runs:start` all check with this.
 */
let defaults: TrainConfig | undefined;
/** Every setting's default, to tell a setting someone changed from one left alone. */
export const defaultSettings = (): TrainConfig => (defaults ??= trainSettings.parse({}));

/** Why a run cannot use both kinds of parallel training, or null. */
export function parallelModesRefusal(config: Pick<TrainConfig, 'stages' | 'workers'>): string | null {
  if ((config.workers ?? 1) <= 1 || config.stages <= 1) return null;
  return `Data-parallel workers (${config.workers}) and module-parallel stages (${config.stages}) cannot be combined yet: set workers to 1 to pipeline the modules, or stages to 1 to split each batch over the workers.`;
}

export const trainConfig = trainSettings.transform((config, ctx) => {
  const parallel = parallelModesRefusal(config);
  if (parallel) ctx.addIssue({ code: 'custom', path: ['workers'], message: parallel, input: config });
  for (const issue of settingsNotApplying(config, { defaults: defaultSettings() })) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message, input: config });
  let cuts;
  try {
    cuts = config.method === 'e2e' ? [] : splitCuts(config.depth, config.split);
  } catch (error) {
    if (error instanceof SplitError) return config; // the split's own check (resolveCuts) says what is wrong with it
    throw error;
  }
  const resolved = resolveSettings(config, cuts);
  const starved = starvedModules(resolved, cuts);
  if (starved) ctx.addIssue({ code: 'custom', path: starved.path, message: starved.message, input: config });
  return resolved;
});

export type TrainConfig = z.output<typeof trainSettings>;
export type TrainConfigInput = z.input<typeof trainSettings>;
