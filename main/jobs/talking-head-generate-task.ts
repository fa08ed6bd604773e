/**
 * The worker side of a `talking-head-clip` run: the editor's face and speech through the model,
 * frames at 25 fps with the pose and emotion following their keyframes, written as PNGs with the speech's WAV
 * and a clip.json holding every setting; the folder becomes the run's artifact.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ClipSettings } from '../../shared/speak/editor';
import { engineVersions, selectBackend } from '../engine/backend/select';
import { APP_ROOT } from '../platform/app-root';
import { collectEnvironment } from '../platform/environment';
import { makeFolders } from '../platform/user-paths';
import { decodeWav, encodeWav } from '../speak/audio/wav';
import { encodePng } from '../speak/corpus/png';
import { FaceStore } from '../speak/editor/face-store';
import { generateClip, type GenerateProgress, loadSpeakModel, prepareFace } from '../speak/speak-model';
import { type EmitJobEvent, JobCancelled } from './events';

export interface ClipJob {
  runId: number;
  settings: ClipSettings;
  faceDir: string;
  speechWav: string;
  out: string;
}

export const CLIP_JSON = 'clip.json';

export async function generateEditorClip(job: ClipJob, emit: EmitJobEvent, shouldStop: () => boolean): Promise<{ frames: number; seconds: number }> {
  const backend = await selectBackend();
  emit({ type: 'started', backend: backend.id, environment: collectEnvironment(backend.id, APP_ROOT, engineVersions(backend.id)) });
  const started = performance.now();
  const { settings } = job;
  const model = loadSpeakModel(settings.model);
  try {
    const audio = decodeWav(fs.readFileSync(job.speechWav), job.speechWav);
    const face = prepareFace(model, new FaceStore('').source(job.faceDir), settings.motion);
    try {
      const onProgress = (p: GenerateProgress) => {
        const fps = p.framesDone / ((performance.now() - started) / 1000);
        emit({ type: 'progress', progress: { epoch: 1, epochs: 1, step: p.framesDone, stepsPerEpoch: p.framesTotal, losses: [], imagesPerSecond: fps, etaSeconds: (p.framesTotal - p.framesDone) / fps } });
      };
      // Emotion keys, when given, drive the emotion over time instead of the one mix.
      const emotion = settings.emotionKeys.length ? settings.emotionKeys : settings.emotion;
      const clip = await generateClip(model, face, audio, { emotion, pose: settings.pose, noiseSeed: settings.seed, blinksPerMinute: settings.blinks }, { onProgress, shouldStop }).catch((error: unknown) => {
        throw (error as Error).name === 'StoppedError' ? new JobCancelled() : error;
      });
      makeFolders(job.out, 'clip folder');
      let bytes = 0;
      clip.frames.forEach((rgb, i) => {
        const png = encodePng(rgb, clip.size, clip.size);
        bytes += png.length;
        fs.writeFileSync(path.join(job.out, `${String(i).padStart(6, '0')}.png`), png);
      });
      const wav = encodeWav(clip.audio);
      fs.writeFileSync(path.join(job.out, 'audio.wav'), wav);
      const seconds = audio.samples.length / audio.sampleRate;
      const record = { fps: clip.fps, size: clip.size, frames: clip.frames.length, seconds, settings, backend: backend.id, generationSeconds: (performance.now() - started) / 1000 };
      fs.writeFileSync(path.join(job.out, CLIP_JSON), JSON.stringify(record, null, 1));
      emit({ type: 'artifact', artifact: { kind: 'talking-head-clip', path: job.out, bytes: bytes + wav.length, meta: { fps: clip.fps, size: clip.size, frames: clip.frames.length, seconds } } });
      return { frames: clip.frames.length, seconds };
    } finally {
      face.dispose();
    }
  } finally {
    model.dispose();
  }
}
