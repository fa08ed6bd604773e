/**
 * The talking-head editor's host side: its faces and speech on disk beside the database, the
 * worker that keeps model and face loaded for previews, and the checks that refuse bad input
 * before anything is kept. The API handlers (main/api/speak-editor.ts) are thin over this.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { HeadMotion } from '../../../shared/speak/editor';
import type { EmotionMix, HeadPoseDegrees } from '../../../shared/speak/performance';
import { sniffImage } from '../../data/image-codec';
import { APP_ROOT } from '../../platform/app-root';
import { encodePng } from '../corpus/png';
import { POSE_RANGE } from '../corpus/clip-plan';
import { EditorWorkerClient } from './editor-worker-client';
import { FaceStore, type FaceRecord } from './face-store';
import { bundledPortraits, CORPUS_FACES, corpusFace } from './identities';
import { SpeechStore } from './speech-input';

export const SHIPPED_MODEL = path.join(APP_ROOT, 'resources', 'speak-model');

/** Largest photo accepted in one upload (the web host takes request bodies up to 1 MiB, base64 adds a third). */
export const MAX_PHOTO_BYTES = 700 * 1024;

export class EditorInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EditorInputError';
  }
}

export interface PreviewSettings {
  model: string;
  identityId: string;
  speechId: string | null;
  time: number;
  emotion: EmotionMix;
  pose: HeadPoseDegrees;
  seed: number;
  /** Blinks a minute: the frame at `time` blinks where the generated clip would. */
  blinks: number;
  motion: HeadMotion;
}

export interface PreviewResult {
  png: Buffer;
  size: number;
  forwardMs: number;
  /** From the request's arrival to the PNG, host side (worker round trip included). */
  hostMs: number;
  loaded: string[];
}

/** The model folder's frame size, read from its model.json; says what is wrong with a folder that is not a model. */
export function modelSize(dir: string): number {
  const file = path.join(dir, 'model.json');
  let manifest: { format?: unknown; settings?: { size?: unknown } };
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof manifest;
  } catch {
    throw new EditorInputError(`${dir} holds no talking-head model (no readable model.json): choose the shipped model or a finished talking-head run's model.`);
  }
  if (typeof manifest.format !== 'string' || !manifest.format.startsWith('blockwise-speak-model/') || typeof manifest.settings?.size !== 'number') {
    throw new EditorInputError(`${file} is not a talking-head model of this studio (format ${JSON.stringify(manifest.format)}): choose the shipped model or a finished talking-head run's model.`);
  }
  return manifest.settings.size;
}

export class TalkingHeadEditor {
  readonly faces: FaceStore;
  readonly speech: SpeechStore;
  private readonly worker = new EditorWorkerClient();

  constructor(readonly root: string) {
    this.faces = new FaceStore(path.join(root, 'faces'));
    this.speech = new SpeechStore(path.join(root, 'speech'));
  }

  /** Corpus faces and bundled portraits at the model's size (made once, kept), then the user's uploads. */
  async identities(model: string): Promise<FaceRecord[]> {
    const size = modelSize(model);
    for (let i = 0; i < CORPUS_FACES; i++) {
      if (this.faces.has(`corpus-${i}`, size)) continue;
      const face = corpusFace(i, size);
      this.faces.put({ id: face.id, label: face.label, source: 'corpus', size, landmarks: face.landmarks, cropBox: null, licence: null }, face.rgb, null);
    }
    for (const portrait of bundledPortraits()) {
      if (this.faces.has(portrait.id, size)) continue;
      await this.findAndKeep(portrait.id, portrait.label, 'portrait', fs.readFileSync(portrait.file), size, portrait.licence);
    }
    const order = { corpus: 0, portrait: 1, upload: 2 } as const;
    return this.faces
      .list()
      .filter((f) => f.size === size)
      .sort((a, b) => order[a.source] - order[b.source] || a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  /** A user's photo: found, aligned and cropped by the real detector, or refused with the reason (nothing kept). */
  async uploadFace(model: string, name: string, bytes: Buffer): Promise<FaceRecord> {
    if (bytes.length > MAX_PHOTO_BYTES) throw new EditorInputError(`${name} is ${(bytes.length / 1024).toFixed(0)} KB; photos up to ${MAX_PHOTO_BYTES / 1024} KB are taken: the editor shrinks larger photos before sending them, so send a smaller copy.`);
    return this.findAndKeep(`upload-${randomUUID()}`, name.slice(0, 120) || 'Photo', 'upload', bytes, modelSize(model), null);
  }

  private async findAndKeep(id: string, label: string, source: FaceRecord['source'], bytes: Buffer, size: number, licence: string | null): Promise<FaceRecord> {
    const sniffed = sniffImage(bytes);
    if (sniffed.kind !== 'image') throw new EditorInputError(`${label} is not a PNG or JPEG image${sniffed.kind === 'invalid' ? ` (${sniffed.problem})` : ''}: choose a photo of one face.`);
    const found = await this.worker.request({ op: 'find', bytes, size }).catch((error: Error) => {
      if (error.name === 'FaceNotUsableError') throw new EditorInputError(`No usable face in ${label}: ${error.message}`);
      throw error;
    });
    const { width, height, format } = sniffed.header;
    return this.faces.put({ id, label, source, size, landmarks: Array.from(found.landmarks), cropBox: found.cropBox, licence }, found.crop, { bytes, ext: format === 'jpeg' ? 'jpg' : 'png', width, height });
  }

  async preview(settings: PreviewSettings): Promise<PreviewResult> {
    const started = performance.now();
    for (const axis of ['yaw', 'pitch', 'roll'] as const) {
      const limit = POSE_RANGE[axis];
      if (Math.abs(settings.pose[axis]) > limit) throw new EditorInputError(`${axis} ${settings.pose[axis]} degrees is outside the model's range (-${limit}..${limit}): the shipped model learned head turns within it.`);
    }
    const face = this.faces.get(settings.identityId);
    const size = modelSize(settings.model);
    if (face.size !== size) throw new EditorInputError(`The face "${face.label}" was cropped at ${face.size} px but this model makes ${size} px frames: choose the face again for this model.`);
    const speech = settings.speechId ? this.speech.wavPath(this.speech.get(settings.speechId).id) : null;
    const reply = await this.worker.request({ op: 'preview', model: settings.model, face: this.faces.folder(face.id), speech, time: settings.time, emotion: settings.emotion, pose: settings.pose, seed: settings.seed, blinks: settings.blinks, motion: settings.motion }).catch((error: Error) => {
      // loadSpeakModel names the folder and what is wrong with it (damaged, untrained stage): the user's to fix.
      throw error.message.includes(settings.model) ? new EditorInputError(error.message) : error;
    });
    const png = encodePng(reply.rgb, reply.size, reply.size);
    return { png, size: reply.size, forwardMs: reply.forwardMs, hostMs: performance.now() - started, loaded: reply.loaded };
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
