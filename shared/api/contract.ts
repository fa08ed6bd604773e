/**
 * The StudioApi contract: every operation the renderer may ask of the main services, with
 * runtime schemas for its input and output. Both hosts (Electron IPC and the web host) serve
 * exactly this map through one dispatcher, so the renderer cannot tell them apart.
 *
 * Names are `domain:verb`. Adding an operation means adding one entry here and one handler.
 */
import { z } from 'zod';
import { DATASET_KINDS, JOB_KINDS, RUN_STATUSES } from '../ids';
import type { JobProgress } from './progress';
import * as s from './schemas';
import * as speak from '../speak/editor';

const id = z.number().int().positive();
const byId = z.object({ id }).strict();
/** Where a run trains: this machine, or the remote queue (Settings > Remote workers). */
export const JOB_TARGETS = ['local', 'remote'] as const;

function operation<I extends z.ZodType, O extends z.ZodType>(input: I, output: O, summary: string) {
  return { input, output, summary };
}

export const operations = {
  'app:info': operation(z.object({}).strict(), s.appInfo, 'Host, version, database path and training backends.'),

  'projects:list': operation(z.object({}).strict(), z.array(s.project), 'All projects, newest first.'),
  'projects:create': operation(
    z.object({ name: s.displayName, description: z.string().max(2000).default('') }).strict(),
    s.project,
    'Create a project; names are unique.',
  ),

  'experiments:list': operation(z.object({ projectId: id }).strict(), z.array(s.experiment), 'Experiments of a project.'),
  'experiments:create': operation(
    z
      .object({
        projectId: id,
        name: s.displayName,
        kind: z.enum(JOB_KINDS).default('local-learning'),
        description: z.string().max(2000).default(''),
      })
      .strict(),
    s.experiment,
    'Create an experiment in a project; names are unique within the project.',
  ),

  'runs:list': operation(
    z
      .object({
        experimentId: id.optional(),
        status: z.enum(RUN_STATUSES).optional(),
        statuses: z.array(z.enum(RUN_STATUSES)).max(10).optional(),
        methods: z.array(z.string().max(40)).max(20).optional(),
        datasets: z.array(z.string().max(40)).max(50).optional(),
        depths: z.array(z.number().int()).max(10).optional(),
        tags: z.array(s.tagName).max(20).optional(),
        text: z.string().max(200).optional(),
        sort: z.enum(s.RUN_SORT_KEYS).optional(),
        descending: z.boolean().optional(),
        limit: z.number().int().min(1).max(500).default(100),
        offset: z.number().int().min(0).default(0),
      })
      .strict(),
    z.object({ total: z.number().int().nonnegative(), runs: z.array(s.run) }),
    'A page of runs matching every filter, sorted (default: newest first), with the total count.',
  ),
  'runs:get': operation(byId, s.run, 'One run with its config, environment, tags and notes.'),
  'runs:metrics': operation(
    z.object({ id, scope: z.enum(['step', 'epoch']).optional() }).strict(),
    z.array(s.metricSeries),
    'Every metric series of a run.',
  ),
  'runs:memory': operation(byId, z.array(s.memorySample), 'Measured peak memory of a run: the whole step and each module.'),
  'runs:details': operation(byId, s.runDetails, 'One run for its page: the run, its files (checkpoint, weights, exports), time queued apart from training, and its event log.'),
  'runs:evaluate': operation(
    z.object({ id, samples: z.number().int().min(0).max(48).default(12) }).strict(),
    s.runEvaluation,
    "A finished run's saved network on its test images (in a worker): confusion matrix, accuracy per class, and predictions right and wrong as images.",
  ),
  'runs:update': operation(
    z.object({ id, name: s.displayName.optional(), notes: s.noteText.optional() }).strict(),
    s.run,
    'Rename a run or replace its notes.',
  ),
  'runs:tag': operation(
    z
      .object({ id, add: z.array(s.tagName).max(50).default([]), remove: z.array(s.tagName).max(50).default([]) })
      .strict(),
    s.run,
    'Add and remove tags of a run.',
  ),

  'runs:start': operation(
    z
      .object({ experimentId: id, name: s.displayName, kind: z.enum(JOB_KINDS).default('local-learning'), config: z.record(z.string(), z.unknown()), target: z.enum(JOB_TARGETS).default('local') })
      .strict(),
    s.run,
    'Queue a training run on this machine or the remote queue; its settings are checked first (nothing is created if they are wrong). It starts when a job slot (or a remote worker) is free.',
  ),
  'runs:cancel': operation(byId, s.run, 'Stop a queued run, or a running one after its current step; it ends cancelled and can be resumed.'),
  'runs:resume': operation(
    z.object({ id, target: z.enum(JOB_TARGETS).optional() }).strict(),
    s.run,
    'Queue a stopped run (interrupted, cancelled, failed) to continue from its last checkpoint, where it trained last unless a target is given.',
  ),
  'runs:delete': operation(
    z.object({ ids: z.array(id).min(1).max(10_000) }).strict(),
    z.object({ deleted: z.number().int() }),
    'Delete runs with their metrics, memory, artifacts and files; refuses runs that are training or queued.',
  ),
  'runs:relaunch': operation(
    z.object({ id, name: s.displayName.optional() }).strict(),
    s.run,
    'Queue a new run with the same settings (split, method, seed...) as this one.',
  ),
  'runs:compare': operation(z.object({ ids: z.array(id).min(1).max(50) }).strict(), z.array(s.runComparison), 'What the compare view draws for each selected run.'),
  'runs:export': operation(
    z.object({ id, out: s.folderPath, inputSize: z.number().int().min(8).max(1024).optional() }).strict(),
    s.exportResult,
    'Export a finished run\'s deployable network (backbone + real head) as a TF.js layers model with a card.json into a new or empty folder. A super-resolution model takes low-res images of inputSize px (default: its evaluation crop).',
  ),
  'runs:preview': operation(byId, s.runPreview.nullable(), "A super-resolution or detection run's latest preview, refreshed at every evaluation: the low-res input, output and high-res original of a test image, or test images with their true and predicted boxes; null before the first."),
  'jobs:status': operation(
    z.object({}).strict(),
    z.object({ concurrency: z.number().int().positive(), running: z.array(id), queued: z.array(id) }),
    'How many runs may train at once, which are training and which wait, in order.',
  ),
  'jobs:reorder': operation(
    z.object({ order: z.array(id).max(10_000) }).strict(),
    z.object({ queued: z.array(id) }),
    'Reorder the waiting runs; the order must name exactly the runs now queued.',
  ),
  'jobs:configure': operation(
    z.object({ concurrency: z.number().int().min(1).max(16) }).strict(),
    z.object({ concurrency: z.number().int().positive() }),
    'Set how many runs train at once (each in its own worker).',
  ),

  'remote:status': operation(z.object({}).strict(), s.remoteStatus, 'The remote queue: its Redis URL (password hidden), whether it answers, and the workers heard from in the last minute.'),
  'remote:test': operation(
    z.object({ url: z.string().min(1).max(2000) }).strict(),
    z.object({ version: z.string(), latencyMs: z.number() }),
    'Connect once to a Redis URL and PING it; says why when it does not answer.',
  ),
  'remote:configure': operation(
    z.object({ url: z.string().min(1).max(2000).nullable() }).strict(),
    s.remoteStatus,
    'Use this Redis as the remote queue (tested first; a URL that does not answer changes nothing), or none (null).',
  ),

  'splits:list': operation(z.object({}).strict(), z.array(s.savedSplit), 'Splits saved by name, by depth.'),
  'splits:save': operation(
    z.object({ name: s.displayName, depth: z.number().int(), cuts: z.array(z.array(z.number().int())).max(200) }).strict(),
    s.savedSplit,
    'Save a cut list under a name; it is checked against the net first.',
  ),
  'splits:measure': operation(
    z
      .object({
        depth: z.number().int(),
        cuts: z.array(z.array(z.number().int())).max(200),
        method: z.string().max(40),
        dataset: z.string().min(1).max(40),
        batchSize: z.number().int().min(2).max(4096),
        execution: z.enum(['reference', 'lean']).default('reference'),
      })
      .strict(),
    z.object({ backend: z.string(), peakBytes: z.number(), modulePeakBytes: z.array(z.number()), endToEndPeakBytes: z.number() }),
    'Measure one real training step of a split and of end-to-end (tf.profile peak bytes, in a worker; seconds).',
  ),
  'splits:measureTask': operation(
    z.object({ kind: z.enum(['super-resolution', 'detection']), config: z.record(z.string(), z.unknown()) }).strict(),
    z.object({ backend: z.string(), peakBytes: z.number(), modulePeakBytes: z.array(z.number()), endToEndPeakBytes: z.number() }),
    "Measure one real training step of a super-resolution or detection split and of end-to-end (tf.profile peak bytes, in a worker, on synthetic batches of the settings' shapes); the settings are checked as runs:start checks them, the data set aside.",
  ),
  'splits:remove': operation(byId, z.object({ removed: z.literal(true) }), 'Delete a saved split.'),

  'datasets:list': operation(z.object({}).strict(), z.array(s.datasetInfo), 'The built-in MNIST and every imported data set.'),
  'datasets:inspect': operation(
    z.object({ path: s.folderPath, kind: z.enum(DATASET_KINDS).optional(), imageSize: z.number().int().min(8).max(512).optional() }).strict(),
    s.datasetPreview,
    'Check a folder: which format, classes, counts and memory; registers nothing.',
  ),
  'datasets:import': operation(
    z
      .object({
        path: s.folderPath,
        name: s.displayName,
        kind: z.enum(DATASET_KINDS).optional(),
        imageSize: z.number().int().min(8).max(512).optional(),
        /** What the preview showed and the user chose to register anyway (skipped files, classes without test images). */
        accept: z.array(z.enum(s.IMPORT_ACCEPTANCES)).max(s.IMPORT_ACCEPTANCES.length).optional(),
        /** Names this import in its `datasets:importProgress` events and for `datasets:cancelImport`. */
        importId: z.string().min(1).max(64).optional(),
      })
      .strict(),
    s.datasetInfo,
    'Check a folder, decode every image once (in a worker, with progress events) and register it as a data set; nothing is registered if any file is bad.',
  ),
  'datasets:cancelImport': operation(
    z.object({ importId: z.string().min(1).max(64) }).strict(),
    z.object({ cancelled: z.boolean() }),
    'Stop an import while its images are decoded; it then registers nothing. `cancelled` is false when no such import is running.',
  ),
  'datasets:remove': operation(z.object({ id: z.string() }).strict(), z.object({ removed: z.literal(true) }), 'Forget an imported data set (its files stay on disk).'),
  'datasets:samples': operation(
    z.object({ id: z.string(), split: z.enum(['train', 'test']).default('train'), perClass: z.number().int().min(1).max(32).default(8) }).strict(),
    s.datasetSamples,
    'A few images of every class, as PNG data URLs.',
  ),

  // The talking-head editor (issue 15): faces, speech, previews, clips and editor projects.
  'speak:models': operation(
    z.object({}).strict(),
    z.array(z.object({ path: z.string(), label: z.string(), size: z.number().int(), runId: z.number().int().nullable() })),
    'Talking-head models the editor can use: the shipped one and every finished talking-head run\'s model.',
  ),
  'speak:faces': operation(
    z.object({ model: z.string().min(1).max(2000).optional() }).strict(),
    z.object({ model: z.string(), size: z.number().int(), poseRange: speak.headPose, faces: z.array(speak.editorFace) }),
    "The faces the editor offers for a model (default: the shipped one): corpus people, bundled portraits (found by the real detector) and the user's uploads, with their crops and crop boxes, and the pose range the model learned.",
  ),
  'speak:facePhoto': operation(z.object({ id: z.string().min(1).max(80) }).strict(), z.object({ photoUrl: z.string().nullable() }), 'The photo a face was cut from (null for a rendered corpus face), to draw its crop box on.'),
  'speak:uploadFace': operation(
    z.object({ model: z.string().min(1).max(2000).optional(), name: z.string().trim().min(1).max(200), data: z.string().min(1).max(1_000_000) }).strict(),
    speak.editorFace,
    'A photo (PNG or JPEG, base64, at most 700 KB) whose one face is found, aligned and cropped by the real detector; refused with the reason (no face, several, too small, profile), keeping nothing.',
  ),
  'speak:speech': operation(
    z.discriminatedUnion('source', [
      z.object({ source: z.literal('file'), name: z.string().trim().min(1).max(200), data: z.string().min(1).max(1_000_000) }).strict(),
      z.object({ source: z.literal('text'), text: z.string().trim().min(1, 'type something to say').max(2000), voice: z.string().max(40).optional() }).strict(),
    ]),
    speak.editorSpeech,
    'Speech from a WAV or MP3 file (base64; MP3 where ffmpeg is installed) or typed text spoken by espeak-ng (where installed); silent, unreadable or too long audio is refused, keeping nothing.',
  ),
  'speak:speechAudio': operation(z.object({ id: z.string().min(1).max(64) }).strict(), z.object({ speech: speak.editorSpeech, dataUrl: z.string() }), 'The kept speech (its record and waveform) with its WAV as a data URL, for playback.'),
  'speak:preview': operation(
    z
      .object({
        model: z.string().min(1).max(2000).optional(),
        identityId: z.string().min(1).max(80),
        speechId: z.string().min(1).max(64).nullable(),
        time: z.number().min(0).max(600),
        emotion: speak.emotionMix,
        pose: speak.headPose,
        seed: z.number().int().min(0).max(2 ** 31 - 1),
        blinks: speak.blinksPerMinute,
        motion: speak.headMotion,
      })
      .strict(),
    speak.previewFrameResult,
    'One frame for the face, emotion, pose, seed, blink rate and time in the speech, from the model kept loaded in the editor worker; with its latency.',
  ),
  'speak:generate': operation(
    z.object({ name: s.displayName.optional(), settings: speak.clipSettings.omit({ model: true, identityLabel: true, speechName: true }).extend({ model: z.string().min(1).max(2000).optional() }) }).strict(),
    s.run,
    'Queue a clip generation (a talking-head-clip run, in the queue with the training runs): frames, WAV and clip.json as the run\'s artifact.',
  ),
  'speak:clips': operation(z.object({}).strict(), z.array(speak.editorClip), 'Generated clips (talking-head-clip runs), newest first, with their settings.'),
  'speak:clip': operation(byId, speak.clipMedia, "A finished clip's frames (PNG data URLs) and audio (WAV data URL), for playback and export."),
  'speak:clipVideo': operation(
    byId,
    z.object({ dataUrl: z.string().startsWith('data:video/mp4;base64,'), bytes: z.number().int().positive() }),
    "A finished clip as an MP4 (H.264 + AAC, 256 px) through ffmpeg; where ffmpeg is not installed, refused with how to install it.",
  ),
  'speak:projects': operation(z.object({}).strict(), z.array(speak.editorProject), 'Saved editor projects, last changed first.'),
  'speak:saveProject': operation(
    z.object({ id: id.optional(), name: s.displayName, state: speak.editorState }).strict(),
    speak.editorProject,
    'Save the editor (face, speech, sliders, keyframes, model) as a new project, or over project `id`.',
  ),
  'speak:openProject': operation(byId, speak.editorProject, 'One saved editor project.'),

  'dialog:pickFolder': operation(
    z.object({ title: z.string().max(200).optional() }).strict(),
    z.object({ path: z.string().nullable() }),
    'Open the native folder picker (Electron only; the web host asks for a typed path).',
  ),
} as const;

export type Operations = typeof operations;
export type OperationName = keyof Operations;
/** What a caller passes (defaults may be omitted). */
export type OpInput<N extends OperationName> = z.input<Operations[N]['input']>;
/** What a handler receives (defaults applied, strings trimmed). */
export type OpArgs<N extends OperationName> = z.output<Operations[N]['input']>;
export type OpResult<N extends OperationName> = z.output<Operations[N]['output']>;

export const OPERATION_NAMES = Object.keys(operations) as OperationName[];

export function isOperationName(name: unknown): name is OperationName {
  return typeof name === 'string' && Object.hasOwn(operations, name);
}

/** Events the main services push to every renderer. */
export interface StudioEvents {
  'projects:changed': { projectId: number };
  'experiments:changed': { projectId: number; experimentId: number };
  'runs:changed': { runId: number; experimentId: number };
  /** The queue's order or the concurrency changed. */
  'jobs:changed': Record<string, never>;
  /** After every training step of a running job. */
  'runs:progress': { runId: number; experimentId: number; progress: JobProgress };
  'datasets:changed': { id: string };
  /** Images decoded so far by the import named `importId`, a few times a second. */
  'datasets:importProgress': { importId: string; done: number; total: number };
}
export type EventName = keyof StudioEvents;
/** A pushed event, discriminated by name so a listener's `switch` narrows the payload. */
export type StudioEvent = { [E in EventName]: { name: E; payload: StudioEvents[E] } }[EventName];

/** The surface the renderer programs against, identical on both hosts. */
export interface StudioApi {
  call<N extends OperationName>(name: N, input: OpInput<N>): Promise<OpResult<N>>;
  /** Subscribe to every pushed event; returns the unsubscribe function. */
  subscribe(listener: (event: StudioEvent) => void): () => void;
}
