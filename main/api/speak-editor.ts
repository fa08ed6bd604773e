/**
 * The talking-head editor's contract operations (speak:*), over ../speak/editor/: faces, speech,
 * previews, clips generated as `talking-head-clip` runs, and saved editor projects. Refusals of
 * the user's input come back as bad_request with the reason; nothing is kept then.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Run } from '../../shared/api/schemas';
import { ApiError } from '../../shared/api/errors';
import type { EditorClip } from '../../shared/speak/editor';
import type { JobManager } from '../jobs/job-manager';
import { CLIP_JSON } from '../jobs/talking-head-generate-task';
import { editorRoot } from '../speak/editor/editor-root';
import type { FaceRecord } from '../speak/editor/face-store';
import { SpeechRefused } from '../speak/editor/speech-input';
import { clipMp4 } from '../speak/editor/clip-mp4';
import { EditorInputError, modelSize, SHIPPED_MODEL, TalkingHeadEditor } from '../speak/editor/talking-head-editor';
import { prepare } from '../store/database';
import { POSE_RANGE } from '../speak/corpus/clip-plan';
import type { Store } from '../store';
import type { Handlers } from './dispatch';

type SpeakHandlers = Pick<Handlers, Extract<keyof Handlers, `speak:${string}`>>;

/** Where editor clips are queued: one project and experiment the editor makes on first use. */
export const CLIP_PROJECT = 'Talking-head editor';
export const CLIP_EXPERIMENT = 'Generated clips';

const png = (bytes: Buffer) => `data:image/png;base64,${bytes.toString('base64')}`;

/** The user's input was refused: a bad_request with the reason (and nothing kept). */
async function refusing<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof EditorInputError || error instanceof SpeechRefused) throw new ApiError('bad_request', `${error.message} Nothing was kept.`);
    if (error instanceof Error && /^No (face|speech) with id|is not a (face|speech) id/.test(error.message)) throw new ApiError('not_found', error.message);
    throw error;
  }
}

function clipExperiment(store: Store, create: boolean): number | null {
  let project = store.projects.list().find((p) => p.name === CLIP_PROJECT);
  if (!project) {
    if (!create) return null;
    project = store.projects.create({ name: CLIP_PROJECT, description: 'Clips generated in the talking-head editor.' });
  }
  const experiment = store.projects.listExperiments(project.id).find((e) => e.name === CLIP_EXPERIMENT);
  if (experiment) return experiment.id;
  return create ? store.projects.createExperiment({ projectId: project.id, name: CLIP_EXPERIMENT, kind: 'talking-head-clip' }).id : null;
}

function clipFolder(store: Store, run: Run): string | null {
  const artifact = store.metrics.artifacts(run.id).find((a) => a.kind === 'talking-head-clip');
  return artifact && fs.existsSync(path.join(artifact.path, CLIP_JSON)) ? artifact.path : null;
}

/** A finished clip's folder and clip.json; says why a run is not one. */
function finishedClip(store: Store, id: number): { dir: string; record: { fps: number; size: number; frames: number; seconds: number } } {
  const run = store.runs.get(id);
  if (run.kind !== 'talking-head-clip') throw new ApiError('bad_request', `Run ${id} is a ${run.kind} run, not a generated clip.`);
  const dir = clipFolder(store, run);
  if (!dir) throw new ApiError('conflict', `Clip ${id} has no frames (status ${run.status}): only a finished generation can be played or exported.`);
  return { dir, record: JSON.parse(fs.readFileSync(path.join(dir, CLIP_JSON), 'utf8')) as { fps: number; size: number; frames: number; seconds: number } };
}

export function createSpeakEditorHandlers({ store, jobs }: { store: Store; jobs: JobManager }): SpeakHandlers {
  const editor = new TalkingHeadEditor(editorRoot(store.path));
  const faceView = (face: FaceRecord) => ({ id: face.id, label: face.label, source: face.source, size: face.size, licence: face.licence, cropBox: face.cropBox, photo: face.photo && { width: face.photo.width, height: face.photo.height }, cropUrl: png(editor.faces.cropPng(face.id)) });
  return {
    'speak:models': () => {
      const trained = prepare<[], { path: string; run_id: number; name: string }>(
        store.db,
        `SELECT a.path, a.run_id, r.name FROM artifacts a JOIN runs r ON r.id = a.run_id WHERE a.kind = 'speak-model' AND r.status = 'done' ORDER BY a.run_id DESC`,
      ).all();
      const models = [{ path: SHIPPED_MODEL, label: 'Shipped model', runId: null as number | null }, ...trained.map((t) => ({ path: t.path, label: `Run ${t.run_id}: ${t.name}`, runId: t.run_id }))];
      // A model folder removed or damaged since is left out rather than offered.
      return models.flatMap((m) => {
        try {
          return [{ ...m, size: modelSize(m.path) }];
        } catch {
          return [];
        }
      });
    },
    'speak:faces': ({ model = SHIPPED_MODEL }) =>
      refusing(async () => {
        const faces = await editor.identities(model);
        return { model, size: faces[0]?.size ?? 0, poseRange: { ...POSE_RANGE }, faces: faces.map(faceView) };
      }),
    'speak:facePhoto': ({ id }) =>
      refusing(() => {
        const bytes = editor.faces.photoBytes(id);
        const record = editor.faces.get(id);
        return { photoUrl: bytes ? `data:image/${record.photo!.file.endsWith('.jpg') ? 'jpeg' : 'png'};base64,${bytes.toString('base64')}` : null };
      }),
    'speak:uploadFace': ({ model = SHIPPED_MODEL, name, data }) => refusing(async () => faceView(await editor.uploadFace(model, name, Buffer.from(data, 'base64')))),
    'speak:speech': (input) => refusing(async () => (input.source === 'file' ? editor.speech.fromFile(input.name, Buffer.from(input.data, 'base64')) : editor.speech.fromText(input.text, input.voice))),
    'speak:speechAudio': ({ id }) =>
      refusing(() => {
        const speech = editor.speech.get(id);
        return { speech, dataUrl: `data:audio/wav;base64,${fs.readFileSync(editor.speech.wavPath(speech.id)).toString('base64')}` };
      }),
    'speak:preview': ({ model = SHIPPED_MODEL, ...settings }) =>
      refusing(async () => {
        const frame = await editor.preview({ model, ...settings });
        return { dataUrl: png(frame.png), size: frame.size, forwardMs: frame.forwardMs, hostMs: frame.hostMs, loaded: frame.loaded };
      }),
    'speak:generate': ({ name, settings: { model = SHIPPED_MODEL, ...settings } }) => {
      const experimentId = clipExperiment(store, true)!;
      const config = { ...settings, model };
      return jobs.submit({ experimentId, name: name ?? `Clip ${new Date().toISOString().slice(0, 19).replace('T', ' ')}`, kind: 'talking-head-clip', config });
    },
    'speak:clips': () => {
      const experimentId = clipExperiment(store, false);
      if (experimentId === null) return [];
      return store.runs.list({ experimentId, limit: 500, offset: 0 }).runs.map((run): EditorClip => {
        const artifact = store.metrics.artifacts(run.id).find((a) => a.kind === 'talking-head-clip');
        const meta = (artifact?.meta ?? {}) as { frames?: number; fps?: number; seconds?: number };
        return { runId: run.id, name: run.name, status: run.status, createdAt: run.createdAt, error: run.error, settings: run.config, frames: meta.frames ?? null, fps: meta.fps ?? null, seconds: meta.seconds ?? null };
      });
    },
    'speak:clip': ({ id }) => {
      const { dir, record } = finishedClip(store, id);
      const frames = Array.from({ length: record.frames }, (_, i) => png(fs.readFileSync(path.join(dir, `${String(i).padStart(6, '0')}.png`))));
      return { runId: id, fps: record.fps, size: record.size, frames, audioUrl: `data:audio/wav;base64,${fs.readFileSync(path.join(dir, 'audio.wav')).toString('base64')}`, seconds: record.seconds };
    },
    'speak:clipVideo': async ({ id }) => {
      const { dir, record } = finishedClip(store, id);
      try {
        const mp4 = await clipMp4(dir, record.fps);
        return { dataUrl: `data:video/mp4;base64,${mp4.toString('base64')}`, bytes: mp4.length };
      } catch (error) {
        throw error instanceof EditorInputError ? new ApiError('bad_request', error.message) : error;
      }
    },
    'speak:projects': () => store.talkingHeadProjects.list(),
    'speak:saveProject': ({ id, name, state }) => store.talkingHeadProjects.save({ id, name, state }),
    'speak:openProject': ({ id }) => store.talkingHeadProjects.get(id),
  };
}
