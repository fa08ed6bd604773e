/**
 * A clip from the talking-head editor as a job (kind `talking-head-clip`): in the queue with the
 * training runs, with progress, ETA and cancel. Its config is the clip's settings (face, speech,
 * emotion, pose keyframes, seed, model), checked before the run exists; the worker side is
 * ./talking-head-generate-task.ts. A clip has no checkpoint: a stopped one is generated again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ApiError } from '../../shared/api/errors';
import { clipSettings } from '../../shared/speak/editor';
import { parseOrBadRequest } from '../api/dispatch';
import { runFilesDir } from '../engine/train/run-config';
import { editorRoot } from '../speak/editor/editor-root';
import { FaceStore } from '../speak/editor/face-store';
import { SpeechStore } from '../speak/editor/speech-input';
import { modelSize } from '../speak/editor/talking-head-editor';
import type { JobKindHandler } from './kinds';
import type { ClipJob } from './talking-head-generate-task';

/** The clip's face folder and speech file, or a bad_request saying which is missing. */
export function clipInputs(dbPath: string, settings: { model: string; identityId: string; speechId: string }): { faceDir: string; speechWav: string; faceLabel: string; speechName: string } {
  const root = editorRoot(dbPath);
  const faces = new FaceStore(path.join(root, 'faces'));
  const speech = new SpeechStore(path.join(root, 'speech'));
  let face, spoken;
  try {
    face = faces.get(settings.identityId);
    spoken = speech.get(settings.speechId);
  } catch (error) {
    throw new ApiError('bad_request', `${(error as Error).message} Nothing was queued.`);
  }
  let size: number;
  try {
    size = modelSize(settings.model);
  } catch (error) {
    throw new ApiError('bad_request', `${(error as Error).message} Nothing was queued.`);
  }
  if (face.size !== size) throw new ApiError('bad_request', `The face "${face.label}" was cropped at ${face.size} px but the model makes ${size} px frames: choose the face again for this model. Nothing was queued.`);
  return { faceDir: faces.folder(face.id), speechWav: speech.wavPath(spoken.id), faceLabel: face.label, speechName: spoken.name };
}

export const talkingHeadClipJobs: JobKindHandler = {
  configure(input, { store }) {
    const settings = parseOrBadRequest(clipSettings, input, 'clip settings');
    const found = clipInputs(store.path, settings);
    return { ...settings, identityLabel: settings.identityLabel || found.faceLabel, speechName: settings.speechName || found.speechName };
  },

  checkResumable(run) {
    if (run.status === 'done') throw new ApiError('conflict', `Clip ${run.id} is generated already; generate a new one from the editor to change it.`);
    if (run.status === 'running' || run.status === 'queued') throw new ApiError('conflict', `Clip ${run.id} is ${run.status} already.`);
  },

  prepare(run, { store }) {
    const settings = clipSettings.parse(run.config);
    const { faceDir, speechWav } = clipInputs(store.path, settings);
    const filesDir = runFilesDir(store.path, run.id) ?? path.join(editorRoot(store.path), 'clips', String(run.id));
    fs.rmSync(path.join(filesDir, 'clip'), { recursive: true, force: true }); // an earlier attempt's frames
    const payload: ClipJob = { runId: run.id, settings, faceDir, speechWav, out: path.join(filesDir, 'clip') };
    return { payload, filesDir };
  },
};
