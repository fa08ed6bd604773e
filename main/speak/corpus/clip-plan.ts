/**
 * One clip's frame-by-frame face states: the emotion at its level, the mouth from the speech
 * (visemes and the WAV's loudness), seeded blinks, gaze and a smoothly drifting head pose.
 */
import { createRng, mixSeed } from '../../data/random';
import { alignPhonemes, type PhonemeSpan } from '../audio/phoneme-timing';
import type { Speech } from '../audio/espeak';
import { frameRms, loudnessFromRms, VIDEO_FPS } from '../audio/loudness';
import type { Emotion } from './emotions';
import type { FaceState } from './face-model';
import type { HeadPose } from './geometry';
import { mouthTrack, type Viseme } from './visemes';

/** MEAD's intensity levels: level_1 weak .. level_3 strong; neutral has level_1 only, at intensity 0. */
export function levelIntensity(emotion: Emotion, level: number): number {
  return emotion === 'neutral' ? 0 : level / 3;
}

/** Pose range the corpus draws from, degrees. */
export const POSE_RANGE: HeadPose = { yaw: 30, pitch: 15, roll: 10 };

export interface ClipFrame {
  state: FaceState;
  viseme: Viseme;
  loudness: number;
  rms: number;
}

export interface ClipPlan {
  frames: ClipFrame[];
  phonemes: PhonemeSpan[];
  fps: number;
}

/** When blinks fall, in seconds drawn from the clip's random stream. */
export interface BlinkTiming {
  firstSeconds(): number;
  gapSeconds(): number;
}

/**
 * Blink closure for each frame, closing over 2 frames, opening over 3: by default (the corpus's)
 * the first within 0.3-1.8 s, then one every 2-4.5 s.
 */
export function blinkTrack(frames: number, rng: () => number, fps = VIDEO_FPS, timing: BlinkTiming = { firstSeconds: () => 0.3 + 1.5 * rng(), gapSeconds: () => 2 + 2.5 * rng() }): number[] {
  const out = new Array<number>(frames).fill(0);
  const profile = [0.45, 1, 0.75, 0.4, 0.12];
  let t = Math.floor(timing.firstSeconds() * fps);
  while (t < frames) {
    profile.forEach((v, k) => {
      if (t + k < frames) out[t + k] = v;
    });
    t += Math.max(profile.length, Math.floor(timing.gapSeconds() * fps));
  }
  return out;
}

/** A smooth pose path: a seeded base pose plus two slow sinusoids per angle, a small nod with loudness. */
export function poseTrack(frames: number, rng: () => number, loudness: ArrayLike<number>, fps = VIDEO_FPS): HeadPose[] {
  const base = { yaw: (rng() * 2 - 1) * 22, pitch: (rng() * 2 - 1) * 10, roll: (rng() * 2 - 1) * 6 };
  const waves = (['yaw', 'pitch', 'roll'] as const).map((axis) => ({
    axis,
    a: [4, 2.5, 2][['yaw', 'pitch', 'roll'].indexOf(axis)]!,
    f1: 0.15 + 0.25 * rng(),
    f2: 0.4 + 0.4 * rng(),
    p1: rng() * 2 * Math.PI,
    p2: rng() * 2 * Math.PI,
  }));
  const out: HeadPose[] = [];
  let nod = 0;
  for (let f = 0; f < frames; f++) {
    const t = f / fps;
    nod = 0.8 * nod + 0.2 * (loudness[f] ?? 0);
    const pose = { ...base };
    for (const w of waves) pose[w.axis] += w.a * (0.7 * Math.sin(2 * Math.PI * w.f1 * t + w.p1) + 0.3 * Math.sin(2 * Math.PI * w.f2 * t + w.p2));
    pose.pitch -= 2.5 * nod;
    out.push({
      yaw: clamp(pose.yaw, POSE_RANGE.yaw),
      pitch: clamp(pose.pitch, POSE_RANGE.pitch),
      roll: clamp(pose.roll, POSE_RANGE.roll),
    });
  }
  return out;
}

const clamp = (v: number, r: number) => Math.max(-r, Math.min(r, v));

export interface ClipSettings {
  emotion: Emotion;
  intensity: number;
  /** Seed of this clip's blinks, gaze and pose. */
  seed: number;
  /** Keep at most this many frames (tests, previews). */
  maxFrames?: number;
  /** Hold the head still at this pose instead of the seeded path. */
  fixedPose?: HeadPose;
}

export function planClip(speech: Speech, settings: ClipSettings): ClipPlan {
  const fps = VIDEO_FPS;
  const rmsAll = frameRms(speech.audio, fps);
  const frames = Math.min(rmsAll.length, settings.maxFrames ?? Infinity);
  const rms = rmsAll.subarray(0, frames);
  const loudness = Array.from(rms, loudnessFromRms);
  const phonemes = alignPhonemes(speech.clauses, speech.audio);
  const mouth = mouthTrack(phonemes, loudness, fps);
  const rng = createRng(mixSeed(settings.seed, 0x5eed));
  const blinks = blinkTrack(frames, rng, fps);
  const poses = settings.fixedPose ? Array.from({ length: frames }, () => ({ ...settings.fixedPose! })) : poseTrack(frames, rng, loudness, fps);
  const gx = rng() * 2 * Math.PI, gy = rng() * 2 * Math.PI;
  const out: ClipFrame[] = [];
  for (let f = 0; f < frames; f++) {
    const t = f / fps;
    const m = mouth[f]!;
    out.push({
      state: {
        emotion: settings.emotion,
        intensity: settings.intensity,
        mouthOpen: m.open,
        lipSpread: m.spread,
        lipsPressed: m.pressed,
        blink: blinks[f]!,
        gaze: [0.35 * Math.sin(0.7 * t + gx), 0.2 * Math.sin(0.5 * t + gy)],
        pose: poses[f]!,
      },
      viseme: m.viseme,
      loudness: loudness[f]!,
      rms: rms[f]!,
    });
  }
  return { frames: out, phonemes, fps };
}
