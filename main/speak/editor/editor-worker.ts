/**
 * The talking-head editor's worker (bundled to dist/main/speak-editor-worker.cjs): it keeps the
 * loaded model, the prepared faces and the decoded speech between requests, so a preview is one
 * forward pass of the generator, off the host's thread. Faces of photos are found here too (the
 * real detector and face mesh), on the same TF.js backend.
 */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { selectBackend } from '../../engine/backend/select';
import { decodeWav, type PcmAudio } from '../audio/wav';
import { identityFromPhoto } from '../data/photo-source';
import { FaceMeshMeter } from '../instruments/head-pose';
import { loadSpeakModel, prepareFace, previewFrame, type PreparedFace, type SpeakModel } from '../speak-model';
import type { EditorMessage, EditorReply, EditorRequest, FoundFaceReply, PreviewReply } from './editor-protocol';
import { FaceStore } from './face-store';

let backend: Promise<unknown> | undefined;
let model: SpeakModel | undefined;
const faces = new Map<string, PreparedFace>();
const speech = new Map<string, PcmAudio>();
let meter: Promise<FaceMeshMeter> | undefined;
const KEEP = 6;

function remember<V>(map: Map<string, V>, key: string, value: V, drop?: (v: V) => void): V {
  map.set(key, value);
  while (map.size > KEEP) {
    const [oldest, old] = map.entries().next().value as [string, V];
    map.delete(oldest);
    drop?.(old);
  }
  return value;
}

function modelAt(dir: string, loaded: string[]): SpeakModel {
  if (model?.dir === dir) return model;
  // A new model: faces prepared for the old one (its identity encoder) go with it.
  for (const face of faces.values()) face.dispose();
  faces.clear();
  model?.dispose();
  model = undefined;
  model = loadSpeakModel(dir);
  loaded.push('model');
  return model;
}

async function handle(request: EditorRequest): Promise<FoundFaceReply | PreviewReply> {
  backend ??= selectBackend();
  await backend;
  if (request.op === 'find') {
    meter ??= FaceMeshMeter.start();
    const identity = await identityFromPhoto(request.bytes, { size: request.size, meter: await meter });
    return { crop: identity.crop.data, landmarks: identity.landmarks, cropBox: identity.cropBox, width: 0, height: 0 };
  }
  const loaded: string[] = [];
  const current = modelAt(request.model, loaded);
  // A face is prepared once per way of driving it (posed motion fits it to the mean 3D face).
  const faceKey = `${request.face}\n${request.motion}`;
  let face = faces.get(faceKey);
  if (!face) {
    face = remember(faces, faceKey, prepareFace(current, new FaceStore('').source(request.face), request.motion), (f) => f.dispose());
    loaded.push('face');
  }
  let audio: PcmAudio | null = null;
  if (request.speech) {
    audio = speech.get(request.speech) ?? null;
    if (!audio) {
      audio = remember(speech, request.speech, decodeWav(fs.readFileSync(request.speech), request.speech));
      loaded.push('speech');
    }
  }
  const started = performance.now();
  const rgb = previewFrame(current, face, { emotion: request.emotion, pose: request.pose, noiseSeed: request.seed, blinksPerMinute: request.blinks, audio, time: request.time });
  return { rgb, size: current.size, forwardMs: performance.now() - started, loaded };
}

parentPort!.on('message', ({ id, request }: EditorMessage) => {
  handle(request).then(
    (result) => parentPort!.postMessage({ id, ok: true, result } satisfies EditorReply),
    (error: unknown) => parentPort!.postMessage({ id, ok: false, name: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error) } satisfies EditorReply),
  );
});
