/**
 * What a queued remote run carries: plain, validated data, never code. The worker checks every
 * job it takes against the same schemas as the studio (the kind must be one it trains, the
 * settings must pass the engine's own schema), so a crafted job can only ask for a training run
 * the studio itself would have accepted.
 */
import { z } from 'zod';
import { savedConfig } from '../engine/train/run-config';
import type { TrainingJob } from '../engine/train/train-run';
import { BUILTIN_MNIST_ID } from '../data/catalog';
import type { DatasetSource } from '../data/catalog';
import { BACKEND_IDS } from '../../shared/ids';

export const REMOTE_JOB_VERSION = 1;

export const remoteJobData = z
  .object({
    version: z.literal(REMOTE_JOB_VERSION),
    /** The studio that queued it: its event stream and file keys. */
    studio: z.string().regex(/^[a-z0-9]{8,32}$/),
    runId: z.number().int().positive(),
    /** A new, larger number for each try (a resume is a new try): entries and files of an older attempt are ignored. */
    attempt: z.number().int().positive(),
    kind: z.literal('local-learning'),
    /** The run's stored config (settings + resolved cuts), checked again by the worker. */
    config: z.record(z.string(), z.unknown()),
    /** Continue from the checkpoint the studio stored in Redis for this attempt (its copy of the last one shipped). */
    resume: z.boolean(),
  })
  .strict();
export type RemoteJobData = z.infer<typeof remoteJobData>;

/** Data sets a worker can open without the studio's disk. */
export const REMOTE_DATASETS = [BUILTIN_MNIST_ID] as const;

export function remoteDatasetRefusal(datasetId: string): string | null {
  return (REMOTE_DATASETS as readonly string[]).includes(datasetId) ? null : `Data set "${datasetId}" lives on this computer's disk and is not sent to remote workers yet; only the built-in MNIST trains remotely. Train it on this machine.`;
}

/**
 * The worker's side: validate a job from the queue and turn it into the job worker's payload.
 * Throws with a message naming what is wrong; `backend` (the worker's --backend) overrides the run's.
 */
export function trainingJobFrom(data: unknown, filesDir: string, backend?: (typeof BACKEND_IDS)[number]): { spec: RemoteJobData; job: TrainingJob } {
  const parsed = remoteJobData.safeParse(data);
  if (!parsed.success) throw new Error(`This job is not a Blockwise run this worker accepts: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'job'}: ${i.message}`).join('; ')}. Update the worker to the studio's version.`);
  const spec = parsed.data;
  const { config, cuts } = savedConfig(spec.config);
  const refusal = remoteDatasetRefusal(config.dataset);
  if (refusal) throw new Error(refusal);
  const dataset: DatasetSource = { id: BUILTIN_MNIST_ID, name: 'MNIST', kind: 'mnist', path: null };
  return { spec, job: { runId: spec.runId, config: backend ? { ...config, backend } : config, cuts, dataset, filesDir } };
}
