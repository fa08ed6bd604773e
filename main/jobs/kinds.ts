/**
 * The kinds of job the studio runs, main side. A new kind (talking heads, GLCAN) plugs in by
 * adding a handler here and a runner in ./runners.ts; the queue, workers, store and events
 * stay as they are.
 */
import type { Run } from '../../shared/api/schemas';
import type { JobKind } from '../../shared/ids';
import type { DatasetCatalog } from '../data/catalog';
import type { Store } from '../store';
import { detectionJobs } from './detection';
import { localLearningJobs } from './local-learning';
import { superResolutionJobs } from './super-resolution';
import { talkingHeadJobs } from './talking-head';
import { talkingHeadClipJobs } from './talking-head-generate';
import { ApiError } from '../../shared/api/errors';

export interface JobDeps {
  store: Store;
  datasets: DatasetCatalog;
}

export interface JobKindHandler {
  /** Check a new run's settings and return what the store keeps as its config; throws a bad_request saying what to fix. */
  configure(config: unknown, deps: JobDeps): Record<string, unknown>;
  /** Throws, saying why, if the run cannot continue where it stopped. */
  checkResumable(run: Run, deps: JobDeps): void;
  /**
   * What the worker gets for a run about to start: it continues from its checkpoint if it has
   * one, else starts over (and forgets the rows of an earlier attempt).
   */
  prepare(run: Run, deps: JobDeps): { payload: unknown; filesDir: string | null };
}

const HANDLERS: Partial<Record<JobKind, JobKindHandler>> = {
  'local-learning': localLearningJobs,
  'talking-head': talkingHeadJobs,
  'super-resolution': superResolutionJobs,
  detection: detectionJobs,
  'talking-head-clip': talkingHeadClipJobs,
};

export function jobKind(kind: JobKind): JobKindHandler {
  const handler = HANDLERS[kind];
  if (!handler) throw new ApiError('bad_request', `Jobs of kind "${kind}" cannot run in this version of the studio yet.`);
  return handler;
}
