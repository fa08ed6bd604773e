/** Runtime schemas of the records that cross the contract. Types are inferred from them, never written twice. */
import { z } from 'zod';
import { BACKEND_IDS, DATASET_KINDS, HOST_KINDS, JOB_KINDS, METRIC_SCOPES, RUN_STATUSES } from '../ids';

// The renderer's CSP forbids eval; zod would otherwise probe `new Function` and log a violation.
z.config({ jitless: true });

const id = z.number().int().positive();
const timestamp = z.number().int().nonnegative().describe('milliseconds since the Unix epoch');

/** A display name: trimmed, 1..120 characters, no control characters. */
export const displayName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(120, 'must be at most 120 characters')
  .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');

export const tagName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(40, 'must be at most 40 characters')
  .regex(/^[\p{L}\p{N}_.:/+-]+$/u, 'may use letters, digits and _ . : / + - only (no spaces)');

export const noteText = z.string().max(20_000, 'must be at most 20,000 characters');

export const backendInfo = z.object({
  id: z.enum(BACKEND_IDS),
  label: z.string(),
  installed: z.boolean(),
  detail: z.string(),
});
export type BackendInfo = z.infer<typeof backendInfo>;

export const appInfo = z.object({
  host: z.enum(HOST_KINDS),
  version: z.string(),
  platform: z.string(),
  dbPath: z.string(),
  backends: z.array(backendInfo),
  /** The backend a new job would train on, or null when no TF.js backend is installed. */
  preferredBackend: z.enum(BACKEND_IDS).nullable(),
  /** What this host can do beyond the common contract; the UI offers such actions only where true. */
  capabilities: z.object({ nativeDialogs: z.boolean() }),
});
export type AppInfo = z.infer<typeof appInfo>;

export const project = z.object({
  id,
  name: z.string(),
  description: z.string(),
  createdAt: timestamp,
  experimentCount: z.number().int().nonnegative(),
});
export type Project = z.infer<typeof project>;

export const experiment = z.object({
  id,
  projectId: id,
  name: z.string(),
  kind: z.enum(JOB_KINDS),
  description: z.string(),
  createdAt: timestamp,
  runCount: z.number().int().nonnegative(),
});
export type Experiment = z.infer<typeof experiment>;

/** What the engine, host and machine were when a run trained: enough to reproduce or explain it. */
export const runEnvironment = z.object({
  backend: z.enum(BACKEND_IDS).nullable(),
  versions: z.record(z.string(), z.string()),
  platform: z.string(),
  arch: z.string(),
  cpus: z.number().int().nonnegative(),
  gitCommit: z.string().nullable(),
  /** Runs trained by a remote worker: its host, its name and its GPU (null: none found). */
  host: z.string().optional(),
  worker: z.string().optional(),
  gpu: z.string().nullable().optional(),
});
export type RunEnvironment = z.infer<typeof runEnvironment>;

export const run = z.object({
  id,
  experimentId: id,
  name: z.string(),
  kind: z.enum(JOB_KINDS),
  status: z.enum(RUN_STATUSES),
  config: z.record(z.string(), z.unknown()),
  seed: z.number().int().nullable(),
  createdAt: timestamp,
  startedAt: timestamp.nullable(),
  endedAt: timestamp.nullable(),
  environment: runEnvironment.nullable(),
  error: z.string().nullable(),
  notes: z.string(),
  tags: z.array(z.string()),
  /** What the runs table shows and sorts on, kept by the store as results arrive. */
  summary: z.object({
    method: z.string().nullable(),
    depth: z.number().int().nullable(),
    dataset: z.string().nullable(),
    /** K: the cuts plus one (end-to-end: 1). */
    modules: z.number().int().nullable(),
    bestTestAccuracy: z.number().nullable(),
    finalTestAccuracy: z.number().nullable(),
    /** Epochs with a test accuracy. */
    epochs: z.number().int().nullable(),
    /** Measured peak memory of a training step (tf.profile). */
    peakBytes: z.number().nullable(),
    imagesPerSecond: z.number().nullable(),
    /** Super-resolution: the last evaluation's PSNR-Y (dB) and SSIM-Y on the test images. */
    psnr: z.number().nullable(),
    ssim: z.number().nullable(),
    /** Detection: the last evaluation's mAP@[.5:.95] and mAP@0.5. */
    map: z.number().nullable(),
    map50: z.number().nullable(),
    /** Training time so far (to now for a running run). */
    durationMs: z.number().nullable(),
  }),
});
export type Run = z.infer<typeof run>;

/** Columns the runs table sorts by. */
export const RUN_SORT_KEYS = ['created', 'name', 'status', 'method', 'depth', 'dataset', 'modules', 'best', 'final', 'peak', 'duration', 'speed', 'psnr', 'map'] as const;
export type RunSortKey = (typeof RUN_SORT_KEYS)[number];

export const metricPoint = z.object({
  scope: z.enum(METRIC_SCOPES),
  /** Global optimiser step for `step` points, epoch number for `epoch` points. */
  step: z.number().int().nonnegative(),
  key: z.string().min(1).max(120),
  value: z.number().finite(),
  at: timestamp,
});
export type MetricPoint = z.infer<typeof metricPoint>;

export const metricSeries = z.object({
  key: z.string(),
  scope: z.enum(METRIC_SCOPES),
  steps: z.array(z.number()),
  values: z.array(z.number()),
  /** When each point was recorded (ms since epoch), for wall-clock axes. */
  times: z.array(z.number()).optional(),
});
export type MetricSeries = z.infer<typeof metricSeries>;

const count = z.number().int().nonnegative();

export const imageShape = z.object({ height: count, width: count, channels: z.union([z.literal(1), z.literal(3)]) });

/** What a reader found in a folder: shown before import and kept with the data set. */
export const datasetPreview = z.object({
  kind: z.enum(DATASET_KINDS),
  /** The format's name, e.g. "CIFAR-10"; the import form suggests it. */
  name: z.string(),
  path: z.string().nullable(),
  classes: z.array(z.string()),
  shape: imageShape,
  /** Samples per class (index = class), per split. */
  counts: z.object({ train: z.array(count), test: z.array(count) }),
  /** Bytes of decoded uint8 pixels: the memory the set takes when loaded. */
  decodedBytes: count,
  /** Files in class folders that are not read (image folders: other files, links): the first 100 (paths relative to the folder), and how many in all. */
  skipped: z.object({ files: z.array(z.object({ file: z.string(), reason: z.string() })), count }),
  /** Classes with training images but no test images: their test accuracy cannot be measured. */
  classesWithoutTest: z.array(z.string()),
});
export type DatasetPreview = z.infer<typeof datasetPreview>;

/** What an import must be told it may register anyway, after the preview showed it. */
export const IMPORT_ACCEPTANCES = ['skipped-files', 'classes-without-test'] as const;
export type ImportAcceptance = (typeof IMPORT_ACCEPTANCES)[number];

export const datasetInfo = datasetPreview.extend({
  /** `mnist` for the built-in set, `ds-<n>` for an imported one. */
  id: z.string(),
  builtIn: z.boolean(),
  createdAt: timestamp.nullable(),
});
export type DatasetInfo = z.infer<typeof datasetInfo>;

export const datasetSamples = z.object({
  classes: z.array(z.object({ name: z.string(), count, images: z.array(z.string().describe('PNG data URL')) })),
});
export type DatasetSamples = z.infer<typeof datasetSamples>;

/** An absolute folder path on the machine running the studio. */
export const folderPath = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(4096, 'is too long')
  .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\'), 'must be an absolute path (e.g. /home/you/data/cifar-10-batches-bin)');

export const savedSplit = z.object({
  id,
  name: z.string(),
  depth: z.number().int(),
  /** InfoPro-style cut list: [stage, block] after which a module ends; [0, 0] is after the stem. */
  cuts: z.array(z.array(z.number().int())),
  createdAt: timestamp,
});
export type SavedSplit = z.infer<typeof savedSplit>;

export const exportResult = z.object({
  dir: z.string(),
  files: z.array(z.object({ name: z.string(), bytes: z.number().int().nonnegative() })),
  /** What the exported model leaves out (auxiliary nets of local methods). */
  dropped: z.array(z.string()),
  testAccuracy: z.number().nullable(),
  /** Super-resolution exports: the run's last PSNR-Y (dB). */
  psnr: z.number().nullable().optional(),
  /** Detection exports: the run's last mAP@[.5:.95], in [0, 1]. */
  map: z.number().nullable().optional(),
});
export type ExportResult = z.infer<typeof exportResult>;

export const memorySample = z.object({
  step: z.number().int(),
  /** The local module, or null for the whole training step. */
  module: z.number().int().nullable(),
  peakBytes: z.number().nonnegative(),
  /** How it was measured (e.g. tf.profile peakBytes). */
  method: z.string(),
  at: timestamp,
});

/** One run as the compare view needs it: its row, epoch curves, a thinned loss curve and measured memory. */
export const runComparison = z.object({
  run,
  epochs: z.array(metricSeries),
  /** The last module's loss per step (the real head's cross-entropy), at most 400 points. */
  loss: metricSeries.nullable(),
  memory: z.array(memorySample),
});
export type RunComparison = z.infer<typeof runComparison>;

/** A remote worker as its heartbeat describes it. */
export const remoteWorker = z.object({
  name: z.string(),
  host: z.string(),
  pid: z.number().int(),
  backend: z.string(),
  gpu: z.string().nullable(),
  concurrency: z.number().int(),
  /** Runs it trains now, as `studio/run`. */
  running: z.array(z.string()),
  busy: z.boolean(),
  lastHeartbeat: timestamp,
});
export type RemoteWorker = z.infer<typeof remoteWorker>;

/** The remote queue as the studio sees it: the URL (password hidden), whether Redis answers, the workers. */
export const remoteStatus = z.object({
  url: z.string().nullable(),
  /** This studio's id on the queue (its event stream and file keys). */
  studioId: z.string(),
  connected: z.boolean(),
  /** Why Redis cannot be reached now (null: it can, or none is set). */
  problem: z.string().nullable(),
  workers: z.array(remoteWorker),
  /** This studio's runs on the queue now: waiting, or training on the named worker. */
  runs: z.array(z.object({ id: z.number().int().positive(), status: z.enum(RUN_STATUSES), worker: z.string().nullable() })),
});
export type RemoteStatus = z.infer<typeof remoteStatus>;

/** A file a run produced: its checkpoint, saved weights, exports. */
export const runArtifact = z.object({ kind: z.string(), path: z.string(), bytes: z.number().nullable(), createdAt: timestamp, meta: z.record(z.string(), z.unknown()) });

/** What the run page shows besides the metrics: files, the time spent queued apart from training, and what happened when. */
export const runDetails = z.object({
  run,
  artifacts: z.array(runArtifact),
  /** From creation to the first start (null while still queued). */
  queuedMs: z.number().nullable(),
  /** Training time (queued time excluded). */
  trainingMs: z.number().nullable(),
  events: z.array(z.object({ at: timestamp, kind: z.string(), text: z.string() })),
});
export type RunDetails = z.infer<typeof runDetails>;

const prediction = z.object({ image: z.string().describe('PNG data URL'), label: z.number().int(), predicted: z.number().int(), confidence: z.number() });

/** A finished run's network on its test images: confusion matrix (rows: true class), accuracy per class, predictions right and wrong. */
export const runEvaluation = z.object({
  backend: z.string(),
  classes: z.array(z.string()),
  images: z.number().int().nonnegative(),
  accuracy: z.number(),
  confusion: z.array(z.array(z.number().int().nonnegative())),
  perClass: z.array(z.number().nullable()),
  right: z.array(prediction),
  wrong: z.array(prediction),
});
export type RunEvaluation = z.infer<typeof runEvaluation>;

/** A super-resolution run's latest preview: the first test image's low-res input, the net's output and the high-res original. */
export const srPreview = z.object({
  task: z.literal('super-resolution'),
  epoch: z.number().int().nonnegative(),
  /** This image's own PSNR-Y (dB) and SSIM-Y. */
  psnr: z.number(),
  ssim: z.number(),
  images: z.array(z.object({ part: z.enum(['lr', 'sr', 'hr']), label: z.string(), width: z.number().int().positive(), height: z.number().int().positive(), dataUrl: z.string().startsWith('data:image/png;base64,') })).length(3),
});
export type SrPreview = z.infer<typeof srPreview>;

const previewBox = z.object({ x1: z.number(), y1: z.number(), x2: z.number(), y2: z.number(), label: z.string() });

/** A detection run's latest preview: a few test images with their true boxes and the net's (scored) boxes. */
export const detPreview = z.object({
  task: z.literal('detection'),
  epoch: z.number().int().nonnegative(),
  map: z.number(),
  map50: z.number(),
  /** Predictions below this score are not shown (the mAP counts them all). */
  scoreThreshold: z.number(),
  images: z.array(z.object({ width: z.number().int().positive(), height: z.number().int().positive(), dataUrl: z.string().startsWith('data:image/png;base64,'), truth: z.array(previewBox), predicted: z.array(previewBox.extend({ score: z.number() })) })).max(16),
});
export type DetPreview = z.infer<typeof detPreview>;

/** What runs:preview returns for each task. */
export const runPreview = z.discriminatedUnion('task', [srPreview, detPreview]);
export type RunPreview = z.infer<typeof runPreview>;
