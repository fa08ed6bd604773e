/**
 * The mouth in the 68 iBUG landmarks, for the audio-driven parts of the generator (issue 14):
 * which points the speech moves (jaw and lips) and the lips' opening.
 */

/** iBUG indices the speech moves: the jaw line (0-16) and the lips (48-67). */
export const SPEECH_POINTS: readonly number[] = [...Array.from({ length: 17 }, (_, i) => i), ...Array.from({ length: 20 }, (_, i) => 48 + i)];

/**
 * Inner-lip opening over the mouth width (points 62 / 66 and 60 / 64), from [x0, y0, x1, y1, ...];
 * negative when the lower lip is above the upper (predicted lips can cross: unsigned, a closed
 * mouth's small errors would read as openings).
 */
export function lipOpening(points: ArrayLike<number>): number {
  const gap = Math.sign(points[133]! - points[125]!) * Math.hypot(points[132]! - points[124]!, points[133]! - points[125]!);
  const width = Math.hypot(points[128]! - points[120]!, points[129]! - points[121]!);
  return width > 0 ? gap / width : 0;
}
