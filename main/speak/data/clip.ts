/**
 * One talking-head clip as every SPEAK trainer and evaluator sees it, whatever it was read from
 * (the procedural corpus, a MEAD-style folder of frames or videos, a user's photo plus speech):
 * square RGB face crops at 25 fps, the speech, and whatever labels the source has.
 */
import type { PcmAudio } from '../audio/wav';
import type { Emotion } from '../corpus/emotions';

export interface ClipPose {
  yaw: number;
  pitch: number;
  roll: number;
}

export interface SpeakClip {
  /** Stable id, e.g. `id007/happy/level_2/000`. */
  id: string;
  /** Who speaks: clips of one identity share it. */
  identity: string;
  emotion: Emotion;
  /** 0..1 (MEAD levels 1/2/3 map to the corpus writer's intensities). */
  intensity: number;
  /** Side of every frame, pixels. */
  size: number;
  frameCount: number;
  fps: number;
  /** Frame i as RGB bytes, size * size * 3, row-major (decoded on demand; a reader may cache). */
  frame(i: number): Uint8Array;
  /** 68 iBUG landmarks per frame, pixels of this crop, [x0, y0, x1, y1, ...]; null when the source has none. */
  landmarks: Float32Array[] | null;
  /** Head pose per frame in degrees; null when unknown. */
  poses: ClipPose[] | null;
  /** The speech, mono. */
  audio: PcmAudio;
}

/** A set of clips split by identity: held-out identities never train. */
export interface ClipSet {
  clips: SpeakClip[];
  /** The identities in this set. */
  identities: string[];
}
