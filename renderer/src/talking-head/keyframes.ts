/** Pose keyframes on the editor's timeline: sorted by time, one key per time, within the clip. */
import type { HeadPoseDegrees, PoseKey } from '../../../shared/speak/performance';

/** Keys closer than this (seconds: one video frame) are the same key. */
export const SAME_TIME = 0.02;

export type EditorKey = PoseKey & { ease: boolean };

export const sortKeys = (keys: readonly EditorKey[]): EditorKey[] => [...keys].sort((a, b) => a.t - b.t);

/** A key at `t` with this pose; one already there is replaced (keeping its easing). Returns the new list and the key's index. */
export function setKey(keys: readonly EditorKey[], t: number, pose: HeadPoseDegrees): { keys: EditorKey[]; index: number } {
  const existing = keys.find((k) => Math.abs(k.t - t) < SAME_TIME);
  const key: EditorKey = { t: Math.round(t * 1000) / 1000, yaw: pose.yaw, pitch: pose.pitch, roll: pose.roll, ease: existing?.ease ?? true };
  const sorted = sortKeys([...keys.filter((k) => k !== existing), key]);
  return { keys: sorted, index: sorted.indexOf(key) };
}

/** Key `index` moved to time `t` (clamped to the clip; it cannot land on another key). */
export function moveKey(keys: readonly EditorKey[], index: number, t: number, duration: number): { keys: EditorKey[]; index: number } {
  const moving = keys[index];
  if (!moving) return { keys: [...keys], index };
  const to = Math.round(Math.min(Math.max(0, t), duration) * 1000) / 1000;
  if (keys.some((k, i) => i !== index && Math.abs(k.t - to) < SAME_TIME)) return { keys: [...keys], index };
  const moved = { ...moving, t: to };
  const sorted = sortKeys(keys.map((k, i) => (i === index ? moved : k)));
  return { keys: sorted, index: sorted.indexOf(moved) };
}

export const removeKey = (keys: readonly EditorKey[], index: number): EditorKey[] => keys.filter((_, i) => i !== index);

export const toggleEase = (keys: readonly EditorKey[], index: number): EditorKey[] => keys.map((k, i) => (i === index ? { ...k, ease: !k.ease } : k));
