/** Identifiers shared by every layer: the one place each list of names is written down. */

/** Where the studio's services run. The renderer never branches on this; it is shown in the status bar. */
export const HOST_KINDS = ['electron', 'web'] as const;
export type HostKind = (typeof HOST_KINDS)[number];

/**
 * Kinds of job a run can be. Later workspaces (talking heads, GLCAN super-resolution and
 * detection) add their kind here; the store keeps the kind-specific settings in `runs.config`.
 */
export const JOB_KINDS = ['local-learning', 'talking-head', 'super-resolution', 'detection', 'talking-head-clip'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** Life cycle of a run. `interrupted` is what a run still marked `running` becomes after a crash. */
export const RUN_STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** TF.js backends in the order the engine prefers them (best first). */
export const BACKEND_IDS = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendId = (typeof BACKEND_IDS)[number];

/** Metric granularity: one point per optimiser step, or one per epoch. */
export const METRIC_SCOPES = ['step', 'epoch'] as const;
export type MetricScope = (typeof METRIC_SCOPES)[number];

/** Data set formats the studio reads. `mnist` is the built-in set shipped in the mnist package. */
export const DATASET_KINDS = ['mnist', 'cifar10', 'svhn', 'stl10', 'imagefolder'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];
