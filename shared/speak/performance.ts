/**
 * What a talking-head generation is asked to perform, in plain data the CLI, the job system and
 * the editor share: an emotion mix with its intensity, and a head pose that is constant or a
 * keyframed curve over the clip's time.
 */
import type { SPEAK_EMOTIONS } from './settings';

/** Most blinks a minute a generation takes (a person blinks about 15 to 20 times a minute at rest). */
export const MAX_BLINKS_PER_MINUTE = 60;

export type SpeakEmotion = (typeof SPEAK_EMOTIONS)[number];

export interface HeadPoseDegrees {
  yaw: number;
  pitch: number;
  roll: number;
}

/** A pose at a time (seconds); between two keys the pose eases in and out (smoothstep) unless `ease` is false. */
export interface PoseKey extends HeadPoseDegrees {
  t: number;
  ease?: boolean;
}

export interface EmotionMix {
  /** Weights over the 8 MEAD emotions (normalised to sum 1; missing ones are 0). */
  weights: Partial<Record<SpeakEmotion, number>>;
  /** 0..1. */
  intensity: number;
}

/** An emotion mix at a time (seconds); between keys weights and intensity blend, eased unless `ease` is false. */
export interface EmotionKey extends EmotionMix {
  t: number;
  ease?: boolean;
}

export interface Performance {
  /** One emotion for the whole clip, or a keyframed curve over its time. */
  emotion: EmotionMix | EmotionKey[];
  pose: HeadPoseDegrees | PoseKey[];
  /** Seed of the editing module's noise: the same seed repeats a generation exactly (and places the blinks). */
  noiseSeed: number;
  /** Blinks a minute on average, 0 (none, the default) to 60. */
  blinksPerMinute?: number;
}

const smoothstep = (x: number) => x * x * (3 - 2 * x);

/** The pose at time `t` (seconds): the constant pose, or the curve through the keys (held before the first and after the last). */
export function poseAt(pose: Performance['pose'], t: number): HeadPoseDegrees {
  if (!Array.isArray(pose)) return { yaw: pose.yaw, pitch: pose.pitch, roll: pose.roll };
  if (pose.length === 0) return { yaw: 0, pitch: 0, roll: 0 };
  const keys = [...pose].sort((a, b) => a.t - b.t);
  const next = keys.findIndex((k) => k.t > t);
  if (next === 0) return pick(keys[0]!);
  if (next === -1) return pick(keys[keys.length - 1]!);
  const a = keys[next - 1]!, b = keys[next]!;
  const x = (t - a.t) / (b.t - a.t);
  const w = b.ease === false ? x : smoothstep(x);
  return { yaw: a.yaw + (b.yaw - a.yaw) * w, pitch: a.pitch + (b.pitch - a.pitch) * w, roll: a.roll + (b.roll - a.roll) * w };
}

const pick = (k: HeadPoseDegrees): HeadPoseDegrees => ({ yaw: k.yaw, pitch: k.pitch, roll: k.roll });

const normalised = (weights: EmotionMix['weights']): EmotionMix['weights'] => {
  const total = Object.values(weights).reduce((a: number, b) => a + (b ?? 0), 0);
  return total > 0 ? Object.fromEntries(Object.entries(weights).map(([e, w]) => [e, (w ?? 0) / total])) : { neutral: 1 };
};

/** The emotion at time `t`: the constant mix, or the curve through the keys (held before the first and after the last, blended between; each key's mix normalised first). */
export function emotionAt(emotion: Performance['emotion'], t: number): EmotionMix {
  if (!Array.isArray(emotion)) return emotion;
  const keys: readonly EmotionKey[] = emotion;
  const sorted = [...keys].sort((a, b) => a.t - b.t);
  const next = sorted.findIndex((k) => k.t > t);
  const at = (k: EmotionKey): EmotionMix => ({ weights: normalised(k.weights), intensity: k.intensity });
  if (next === 0) return at(sorted[0]!);
  if (next === -1) return at(sorted[sorted.length - 1]!);
  const a = sorted[next - 1]!, b = sorted[next]!;
  const x = (t - a.t) / (b.t - a.t);
  const w = b.ease === false ? x : smoothstep(x);
  const wa = normalised(a.weights) as Record<string, number>, wb = normalised(b.weights) as Record<string, number>;
  const names = new Set([...Object.keys(wa), ...Object.keys(wb)]);
  const weights = Object.fromEntries([...names].map((e) => [e, (wa[e] ?? 0) * (1 - w) + (wb[e] ?? 0) * w])) as EmotionMix['weights'];
  return { weights, intensity: a.intensity * (1 - w) + b.intensity * w };
}
