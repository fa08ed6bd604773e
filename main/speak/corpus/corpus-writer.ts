/**
 * Writes the corpus as MEAD-style folders:
 *   <out>/manifest.json
 *   <out>/<identity>/identity.json
 *   <out>/<identity>/<emotion>/level_<k>/<clip>/{000000.png ..., audio.wav, labels.json}
 * Frames at 25 fps, the WAV as espeak-ng spoke it, and per-frame ground truth. Everything is a
 * function of the seed (no clock, no Math.random), so the same seed writes the same bytes.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRng, mixSeed } from '../../data/random';
import { speak, type Speech, type VoiceOptions } from '../audio/espeak';
import { encodeWav } from '../audio/wav';
import { planClip, levelIntensity, type ClipPlan } from './clip-plan';
import { EMOTIONS, type Emotion } from './emotions';
import { makeIdentities, type Identity } from './identity';
import { encodePng } from './png';
import { MAX_SIZE, MIN_SIZE, renderFace } from './renderer';
import { SENTENCES } from './sentences';

export const CORPUS_FORMAT = 'blockwise-speak-corpus';
export const CORPUS_VERSION = 1;
export const LEVELS = [1, 2, 3] as const;

export interface CorpusOptions {
  out: string;
  identities: number;
  seed: number;
  /** Frame side in pixels, 64..256 [128]. */
  size?: number;
  /** Clips per (identity, emotion, level) [1]. */
  clipsPerEmotion?: number;
  /** Emotions to write [all 8]. */
  emotions?: readonly Emotion[];
  /** Intensity levels to write [1, 2, 3]; neutral always has level 1 only. */
  levels?: readonly number[];
  /** Cap on frames per clip (short clips for tests and previews) [whole sentence]. */
  maxFrames?: number;
  onProgress?: (progress: CorpusProgress) => void;
}

export interface CorpusProgress {
  clipsDone: number;
  clipsTotal: number;
  framesDone: number;
  /** The clip just written, relative to the corpus folder. */
  clip: string;
}

export interface ManifestClip {
  path: string;
  identity: string;
  emotion: Emotion;
  level: number;
  intensity: number;
  frames: number;
  sentence: string;
}

export interface CorpusManifest {
  format: typeof CORPUS_FORMAT;
  version: number;
  seed: number;
  size: number;
  fps: number;
  identities: string[];
  emotions: Emotion[];
  levels: number[];
  clipsPerEmotion: number;
  landmarks: 'ibug-68';
  clips: ManifestClip[];
  totalFrames: number;
}

/** Speech prosody per emotion at full intensity: pitch offset and speed factor. */
const PROSODY: Record<Emotion, { pitch: number; speed: number }> = {
  neutral: { pitch: 0, speed: 1 },
  happy: { pitch: 8, speed: 1.06 },
  sad: { pitch: -8, speed: 0.85 },
  angry: { pitch: 4, speed: 1.1 },
  surprised: { pitch: 12, speed: 1 },
  fear: { pitch: 10, speed: 1.12 },
  disgusted: { pitch: -4, speed: 0.92 },
  contempt: { pitch: -3, speed: 0.95 },
};

export function voiceFor(identity: Identity, emotion: Emotion, intensity: number): VoiceOptions {
  const p = PROSODY[emotion];
  return {
    voice: identity.voice.voice,
    variant: identity.voice.variant,
    pitch: Math.max(0, Math.min(99, Math.round(identity.voice.pitch + p.pitch * intensity))),
    speed: Math.round(identity.voice.speed * (1 + (p.speed - 1) * intensity)),
  };
}

function checkOptions(o: CorpusOptions): Required<Omit<CorpusOptions, 'onProgress' | 'maxFrames'>> & Pick<CorpusOptions, 'onProgress' | 'maxFrames'> {
  const size = o.size ?? 128;
  const clipsPerEmotion = o.clipsPerEmotion ?? 1;
  if (!Number.isInteger(o.identities) || o.identities < 1 || o.identities > 10000) throw new Error(`--identities must be a whole number from 1 to 10000 (got ${o.identities}).`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw new Error(`--seed must be a whole number from 0 to 4294967295 (got ${o.seed}).`);
  if (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE) throw new Error(`--size must be a whole number of pixels from ${MIN_SIZE} to ${MAX_SIZE} (got ${size}).`);
  if (!Number.isInteger(clipsPerEmotion) || clipsPerEmotion < 1 || clipsPerEmotion > 100) throw new Error(`--clips-per-emotion must be a whole number from 1 to 100 (got ${clipsPerEmotion}).`);
  const levels = [...(o.levels ?? LEVELS)];
  for (const l of levels) if (!(LEVELS as readonly number[]).includes(l)) throw new Error(`Level ${l} is not a MEAD intensity level (1, 2 or 3).`);
  const emotions = [...(o.emotions ?? EMOTIONS)];
  for (const e of emotions) if (!(EMOTIONS as readonly string[]).includes(e)) throw new Error(`"${e}" is not one of the 8 MEAD emotions: ${EMOTIONS.join(', ')}.`);
  if (o.maxFrames !== undefined && (!Number.isInteger(o.maxFrames) || o.maxFrames < 1)) throw new Error(`--max-frames must be a whole number of at least 1 (got ${o.maxFrames}).`);
  if (existsSync(o.out) && readdirSync(o.out).length) throw new Error(`${o.out} is not empty: the corpus goes into a new or empty folder (choose another --out or empty it).`);
  return { ...o, size, clipsPerEmotion, levels, emotions };
}

const round = (v: number, digits: number) => Number(v.toFixed(digits));

/** labels.json for one clip. */
export function clipLabels(identity: Identity, emotion: Emotion, level: number, intensity: number, sentence: string, voice: VoiceOptions, speech: Speech, plan: ClipPlan, landmarks: [number, number][][], size: number) {
  return {
    identity: identity.name,
    emotion,
    level,
    intensity: round(intensity, 4),
    sentence,
    voice,
    fps: plan.fps,
    size,
    audio: { file: 'audio.wav', sampleRate: speech.audio.sampleRate, samples: speech.audio.samples.length },
    landmarkLayout: 'ibug-68',
    coordinates: 'pixels; (0,0) is the top-left corner of the image, pixel (i,j) covers [i,i+1)x[j,j+1)',
    pose: 'degrees; yaw > 0 turns the nose towards the image right, pitch > 0 lifts the chin, roll > 0 tilts clockwise',
    phonemes: plan.phonemes.map((p) => ({ phoneme: p.phoneme, stressed: p.stressed, word: p.word, start: round(p.start, 4), end: round(p.end, 4) })),
    frames: plan.frames.map((f, i) => ({
      index: i,
      file: frameFile(i),
      time: round(i / plan.fps, 4),
      landmarks: landmarks[i]!.map(([x, y]) => [round(x, 2), round(y, 2)]),
      yaw: round(f.state.pose.yaw, 3),
      pitch: round(f.state.pose.pitch, 3),
      roll: round(f.state.pose.roll, 3),
      emotion,
      intensity: round(intensity, 4),
      blink: round(f.state.blink, 3),
      viseme: f.viseme,
      loudness: round(f.loudness, 4),
      rms: round(f.rms, 5),
      mouthOpen: round(f.state.mouthOpen, 4),
    })),
    identityParams: identity,
  };
}

export const frameFile = (i: number) => `${String(i).padStart(6, '0')}.png`;

/** What one clip is made from, from the corpus seed alone: the writer and the in-memory clips make the same clip. */
export interface CorpusClipRecipe {
  intensity: number;
  seed: number;
  sentence: string;
  voice: VoiceOptions;
  speech: Speech;
  plan: ClipPlan;
}

/** The recipe of clip `clip` (1-based) of (identity, emotion, level); `speeches` caches espeak's output across calls (64 kept). */
export function corpusClip(seed: number, identity: Identity, emotion: Emotion, level: number, clip: number, speeches: Map<string, Speech>, maxFrames?: number): CorpusClipRecipe {
  const intensity = levelIntensity(emotion, level);
  const clipSeed = mixSeed(seed, identity.index, EMOTIONS.indexOf(emotion), level, clip);
  const sentence = SENTENCES[Math.floor(createRng(clipSeed)() * SENTENCES.length)]!;
  const voice = voiceFor(identity, emotion, intensity);
  const key = JSON.stringify([sentence, voice]);
  let speech = speeches.get(key);
  if (!speech) {
    speech = speak(sentence, voice);
    speeches.set(key, speech);
    if (speeches.size > 64) speeches.delete(speeches.keys().next().value!);
  }
  return { intensity, seed: clipSeed, sentence, voice, speech, plan: planClip(speech, { emotion, intensity, seed: clipSeed, maxFrames }) };
}

/** Write the corpus; returns its manifest (also written as manifest.json). */
export function writeCorpus(options: CorpusOptions): CorpusManifest {
  const o = checkOptions(options);
  const identities = makeIdentities(o.identities, o.seed);
  const jobs: { identity: Identity; emotion: Emotion; level: number; clip: number }[] = [];
  for (const identity of identities)
    for (const emotion of o.emotions)
      for (const level of emotion === 'neutral' ? [1] : o.levels)
        for (let clip = 1; clip <= o.clipsPerEmotion; clip++) jobs.push({ identity, emotion, level, clip });

  mkdirSync(o.out, { recursive: true });
  const clips: ManifestClip[] = [];
  const speechCache = new Map<string, Speech>();
  let framesDone = 0;
  for (const identity of identities) {
    mkdirSync(path.join(o.out, identity.name), { recursive: true });
    writeFileSync(path.join(o.out, identity.name, 'identity.json'), `${JSON.stringify(identity, null, 1)}\n`);
  }
  for (const [k, job] of jobs.entries()) {
    const { identity, emotion, level, clip } = job;
    const { intensity, sentence, voice, speech, plan } = corpusClip(o.seed, identity, emotion, level, clip, speechCache, o.maxFrames);
    const rel = path.join(identity.name, emotion, `level_${level}`, String(clip).padStart(3, '0'));
    const dir = path.join(o.out, rel);
    mkdirSync(dir, { recursive: true });
    const landmarks: [number, number][][] = [];
    plan.frames.forEach((frame, i) => {
      const face = renderFace(identity, frame.state, { size: o.size });
      landmarks.push(face.landmarks);
      writeFileSync(path.join(dir, frameFile(i)), encodePng(face.rgb, o.size, o.size));
    });
    // The WAV matches the frames: cut to the frames kept.
    const wav = o.maxFrames !== undefined ? trimWav(speech, plan.frames.length, plan.fps) : speech.wav;
    writeFileSync(path.join(dir, 'audio.wav'), wav);
    const labels = clipLabels(identity, emotion, level, intensity, sentence, voice, speech, plan, landmarks, o.size);
    writeFileSync(path.join(dir, 'labels.json'), `${JSON.stringify(labels)}\n`);
    framesDone += plan.frames.length;
    clips.push({ path: rel.split(path.sep).join('/'), identity: identity.name, emotion, level, intensity: round(intensity, 4), frames: plan.frames.length, sentence });
    o.onProgress?.({ clipsDone: k + 1, clipsTotal: jobs.length, framesDone, clip: rel });
  }
  const manifest: CorpusManifest = {
    format: CORPUS_FORMAT,
    version: CORPUS_VERSION,
    seed: o.seed,
    size: o.size,
    fps: 25,
    identities: identities.map((i) => i.name),
    emotions: [...o.emotions],
    levels: [...o.levels],
    clipsPerEmotion: o.clipsPerEmotion,
    landmarks: 'ibug-68',
    clips,
    totalFrames: framesDone,
  };
  writeFileSync(path.join(o.out, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}

function trimWav(speech: Speech, frames: number, fps: number): Buffer {
  const n = Math.min(speech.audio.samples.length, Math.floor((frames * speech.audio.sampleRate) / fps));
  return encodeWav({ sampleRate: speech.audio.sampleRate, samples: speech.audio.samples.subarray(0, n) });
}
