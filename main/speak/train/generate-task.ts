/**
 * One talking-head generation as a job task: a trained model folder, a photo, speech and a
 * performance in; the clip's frames (PNG at 25 fps), its audio and a clip.json out. It runs in a
 * job worker for the studio (runner 'speak-generate', a task that records no run: a generated
 * clip has no losses, checkpoints or resume to show in the runs table) and in-process for
 * `blockwise speak generate`. Progress goes out as the job vocabulary's progress events.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BackendId } from '../../../shared/ids';
import type { EmotionMix, Performance } from '../../../shared/speak/performance';
import { selectBackend } from '../../engine/backend/select';
import { type EmitJobEvent, JobCancelled } from '../../jobs/events';
import { makeFolders } from '../../platform/user-paths';
import { decodeWav, encodeWav } from '../audio/wav';
import { encodePng } from '../corpus/png';
import { identityFromPhoto } from '../data/photo-source';
import { generateClip, loadSpeakModel, prepareFace } from '../speak-model';

/** Plain data, so it crosses a worker boundary. */
export interface GenerateRequest {
  model: string;
  image: string;
  audio: string;
  out: string;
  emotion: EmotionMix;
  pose: Performance['pose'];
  noiseSeed: number;
  /** Blinks a minute [0]. */
  blinksPerMinute?: number;
  backend?: BackendId;
  /** With several faces in the photo, take the largest instead of refusing it. */
  largestFace?: boolean;
}

export interface GenerateResult {
  out: string;
  frames: number;
  fps: number;
  size: number;
  seconds: number;
  backend: string;
  /** Where face-api measured the photo's landmarks (photo-source.ts). */
  measuredOn: 'crop' | 'photo';
}

export const CLIP_FILE = 'clip.json';

export async function generateToFolder(request: GenerateRequest, emit: EmitJobEvent = () => undefined, shouldStop: () => boolean = () => false): Promise<GenerateResult> {
  const backend = await selectBackend(request.backend);
  const started = performance.now();
  const model = loadSpeakModel(request.model);
  try {
    const audio = decodeWav(fs.readFileSync(request.audio), request.audio);
    const identity = await identityFromPhoto(request.image, { size: model.size, chooseLargest: request.largestFace ?? false });
    const face = prepareFace(model, { rgb: identity.crop.data, size: model.size, landmarks: identity.landmarks });
    try {
      const clip = await generateClip(model, face, audio, { emotion: request.emotion, pose: request.pose, noiseSeed: request.noiseSeed, blinksPerMinute: request.blinksPerMinute ?? 0 }, {
        onProgress: (p) => {
          const seconds = (performance.now() - started) / 1000;
          const fps = p.framesDone / seconds;
          emit({ type: 'progress', progress: { epoch: 1, epochs: 1, step: p.framesDone, stepsPerEpoch: p.framesTotal, losses: [], imagesPerSecond: fps, etaSeconds: (p.framesTotal - p.framesDone) / fps } });
        },
        shouldStop,
      }).catch((error: unknown) => {
        throw (error as Error).name === 'StoppedError' ? new JobCancelled() : error;
      });
      makeFolders(request.out, 'clip folder');
      clip.frames.forEach((rgb, i) => fs.writeFileSync(path.join(request.out, `${String(i).padStart(6, '0')}.png`), encodePng(rgb, clip.size, clip.size)));
      fs.writeFileSync(path.join(request.out, 'audio.wav'), encodeWav(clip.audio));
      const seconds = (performance.now() - started) / 1000;
      const record = { fps: clip.fps, size: clip.size, frames: clip.frames.length, model: path.resolve(request.model), photo: path.resolve(request.image), speech: path.resolve(request.audio), emotion: request.emotion, pose: request.pose, noiseSeed: request.noiseSeed, blinksPerMinute: request.blinksPerMinute ?? 0, measuredOn: identity.measuredOn, backend: backend.id, seconds };
      fs.writeFileSync(path.join(request.out, CLIP_FILE), JSON.stringify(record, null, 1));
      return { out: request.out, frames: clip.frames.length, fps: clip.fps, size: clip.size, seconds, backend: backend.id, measuredOn: identity.measuredOn };
    } finally {
      face.dispose();
    }
  } finally {
    model.dispose();
  }
}
