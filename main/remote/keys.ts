/**
 * Names in Redis shared by the studio and the workers. One BullMQ queue holds every studio's
 * runs; each studio has its own event stream and artifact keys (by its id), so several studios
 * can share one Redis and its workers.
 */

/** The BullMQ queue every worker takes runs from. */
export const QUEUE_NAME = 'blockwise-runs';

const ROOT = 'blockwise';

/** Everything one studio's runs produce, in order: the worker's lifecycle entries and every job event. */
export const eventStreamKey = (studio: string) => `${ROOT}:studio:${studio}:events`;

/**
 * A run attempt's files (checkpoint, weights) as chunks plus a manifest. Per attempt: a worker
 * thought dead that lives on cannot overwrite what a resumed attempt starts from or ships.
 */
export const runFilesKey = (studio: string, runId: number, attempt: number, set: 'checkpoint' | 'weights') => `${ROOT}:studio:${studio}:run:${runId}:${attempt}:${set}`;

/** Set while the studio wants a run attempt stopped; its worker polls it. */
export const cancelKey = (studio: string, runId: number, attempt: number) => `${ROOT}:studio:${studio}:run:${runId}:cancel:${attempt}`;

/** Sorted set of worker names by last heartbeat (ms), and each worker's facts. */
export const WORKERS_KEY = `${ROOT}:workers`;
export const workerKey = (name: string) => `${ROOT}:worker:${name}`;

/** A BullMQ job id: one per attempt of a run (a resume is a new attempt); BullMQ ids may not contain ':'. */
export const remoteJobId = (studio: string, runId: number, attempt: number) => `${studio}-${runId}-${attempt}`;
