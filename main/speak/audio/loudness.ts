/**
 * Loudness per video frame, measured on the waveform itself: RMS over each frame's span of
 * samples (frame i covers [i/fps, (i+1)/fps)), and a 0..1 loudness from its level in dBFS.
 */
import type { PcmAudio } from './wav';

export const VIDEO_FPS = 25;

/** Number of video frames that cover the audio (the last partial frame counts). */
export function frameCount(audio: PcmAudio, fps = VIDEO_FPS): number {
  return Math.ceil((audio.samples.length / audio.sampleRate) * fps);
}

/** RMS of each video frame's samples (0 for frames past the end). */
export function frameRms(audio: PcmAudio, fps = VIDEO_FPS): Float32Array {
  const n = frameCount(audio, fps);
  const out = new Float32Array(n);
  for (let f = 0; f < n; f++) {
    const from = Math.floor((f * audio.sampleRate) / fps);
    const to = Math.min(audio.samples.length, Math.floor(((f + 1) * audio.sampleRate) / fps));
    let sum = 0;
    for (let i = from; i < to; i++) sum += audio.samples[i]! ** 2;
    out[f] = to > from ? Math.sqrt(sum / (to - from)) : 0;
  }
  return out;
}

/** Silence floor and full-loudness level, dBFS. */
export const SILENCE_DB = -45;
export const LOUD_DB = -12;

/** 0 at or below -45 dBFS, 1 at or above -12 dBFS, linear in dB between. */
export function loudnessFromRms(rms: number): number {
  if (rms <= 0) return 0;
  const db = 20 * Math.log10(rms);
  return Math.max(0, Math.min(1, (db - SILENCE_DB) / (LOUD_DB - SILENCE_DB)));
}
