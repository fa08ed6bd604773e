/** Keyframes on the editor's timeline (pose or emotion): sorted by time, one key per time, within the clip. */
import type { HeadPoseDegrees, PoseKey } from '../../../shared/speak/performance';

/** Keys closer than this (seconds: one video frame) are the same key. */
export const SAME_TIME = 0.02;

export interface Timed {
  t: number;
  ease: boolean;
}

export type EditorKey = PoseKey & { ease: boolean };

export const sortKeys = <K extends Timed>(keys: readonly K[]): K[] => [...keys].sort((a, b) => a.t - b.t);

/** `key` placed at its time; one already there is replaced (keeping its easing). Returns the new list and the key's index. */
export function placeKey<K extends Timed>(keys: readonly K[], key: Omit<K, 'ease'>): { keys: K[]; index: number } {
  const existing = keys.find((k) => Math.abs(k.t - key.t) < SAME_TIME);
  const placed = { ...key, t: Math.round(key.t * 1000) / 1000, ease: existing?.ease ?? true } as K;
  const sorted = sortKeys([...keys.filter((k) => k !== existing), placed]);
  return { keys: sorted, index: sorted.indexOf(placed) };
}

/** A pose key at `t` (see placeKey). */
export function setKey(keys: readonly EditorKey[], t: number, pose: HeadPoseDegrees): { keys: EditorKey[]; index: number } {
  return placeKey<EditorKey>(keys, { t, yaw: pose.yaw, pitch: pose.pitch, roll: pose.roll });
}

/** Key `index` moved to time `t` (clamped to the clip; it cannot land on another key). */
export function moveKey<K extends Timed>(keys: readonly K[], index: number, t: number, duration: number): { keys: K[]; index: number } {
  const moving = keys[index];
  if (!moving) return { keys: [...keys], index };
  const to = Math.round(Math.min(Math.max(0, t), duration) * 1000) / 1000;
  if (keys.some((k, i) => i !== index && Math.abs(k.t - to) < SAME_TIME)) return { keys: [...keys], index };
  const moved = { ...moving, t: to };
  const sorted = sortKeys(keys.map((k, i) => (i === index ? moved : k)));
  return { keys: sorted, index: sorted.indexOf(moved) };
}

export const removeKey = <K extends Timed>(keys: readonly K[], index: number): K[] => keys.filter((_, i) => i !== index);

export const toggleEase = <K extends Timed>(keys: readonly K[], index: number): K[] => keys.map((k, i) => (i === index ? { ...k, ease: !k.ease } : k));
