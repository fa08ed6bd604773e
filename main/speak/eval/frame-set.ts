/**
 * Labelled still frames taken from clips, the evaluation instruments' training and test data:
 * pixels in [0, 1] plus each frame's emotion, pose and 68 landmarks. Frames are spread evenly
 * over each clip (pose and mouth move within a clip), so a few per clip cover its motion.
 */
import { EMOTIONS } from '../corpus/emotions';
import type { ClipSet } from '../data/clip';

export interface FrameSet {
  /** Side of every frame, pixels. */
  size: number;
  count: number;
  /** count * size * size * 3 floats in [0, 1], NHWC. */
  pixels: Float32Array;
  /** Index into EMOTIONS per frame. */
  emotion: Int32Array;
  /** count * 3: yaw, pitch, roll in degrees; NaN where the clip has no poses. */
  pose: Float32Array;
  /** count * 136 landmark pixels; NaN where the clip has no landmarks. */
  landmarks: Float32Array;
  /** The identity of each frame (held-out sets hold other people). */
  identity: string[];
}

export function frameSetFromClips(set: ClipSet, framesPerClip: number): FrameSet {
  if (!Number.isInteger(framesPerClip) || framesPerClip < 1) throw new Error(`framesPerClip must be a positive integer (got ${framesPerClip})`);
  if (set.clips.length === 0) throw new Error('The clip set is empty: nothing to take frames from');
  const size = set.clips[0]!.size;
  const picks: { clip: number; frame: number }[] = [];
  set.clips.forEach((clip, c) => {
    if (clip.size !== size) throw new Error(`Clip ${clip.id} is ${clip.size} px, the others ${size} px: use one frame size per set`);
    const n = Math.min(framesPerClip, clip.frameCount);
    for (let k = 0; k < n; k++) picks.push({ clip: c, frame: Math.floor(((k + 0.5) * clip.frameCount) / n) });
  });
  const per = size * size * 3;
  const out: FrameSet = {
    size,
    count: picks.length,
    pixels: new Float32Array(picks.length * per),
    emotion: new Int32Array(picks.length),
    pose: new Float32Array(picks.length * 3).fill(NaN),
    landmarks: new Float32Array(picks.length * 136).fill(NaN),
    identity: [],
  };
  picks.forEach(({ clip: c, frame }, i) => {
    const clip = set.clips[c]!;
    const rgb = clip.frame(frame);
    for (let k = 0; k < per; k++) out.pixels[i * per + k] = rgb[k]! / 255;
    out.emotion[i] = EMOTIONS.indexOf(clip.emotion);
    const pose = clip.poses?.[frame];
    if (pose) out.pose.set([pose.yaw, pose.pitch, pose.roll], i * 3);
    const points = clip.landmarks?.[frame];
    if (points) out.landmarks.set(points, i * 136);
    out.identity.push(clip.identity);
  });
  return out;
}

/** Frames of one RGB byte image list as [0, 1] floats (for predicting on generated frames). */
export function pixelsFromBytes(frames: readonly Uint8Array[], size: number): Float32Array {
  const per = size * size * 3;
  const out = new Float32Array(frames.length * per);
  frames.forEach((f, i) => {
    if (f.length !== per) throw new Error(`Frame ${i} has ${f.length} bytes; a ${size} px RGB frame has ${per}`);
    for (let k = 0; k < per; k++) out[i * per + k] = f[k]! / 255;
  });
  return out;
}
