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

/**
 * Where speech may change a face, as a [size * size] mask: 0 over the lower face, from the nose's
 * base (point 33) down to below the chin (point 8) and between the jaw's points 2 and 14; 1
 * elsewhere. Real photos trained with speech (issue 14) are judged outside it only: there is no
 * true frame of a photographed person saying the words, but the eyes, skin and hair must stay.
 * The whole lower face, not the lips' box: the dense motion spreads the lips' and jaw's motion a
 * few pixels around them, and a judged band there taught the motion head to hold a photo's mouth.
 */
export function outsideMouthMask(landmarks: ArrayLike<number>, size: number): Float32Array {
  const x0 = Math.floor(Math.min(landmarks[4]!, landmarks[2 * 48]!)), x1 = Math.ceil(Math.max(landmarks[28]!, landmarks[2 * 54]!));
  const y0 = Math.floor(landmarks[2 * 33 + 1]!), y1 = Math.ceil(landmarks[17]! + size / 16);
  const mask = new Float32Array(size * size).fill(1);
  for (let y = Math.max(0, y0); y <= Math.min(size - 1, y1); y++) {
    for (let x = Math.max(0, x0); x <= Math.min(size - 1, x1); x++) mask[y * size + x] = 0;
  }
  return mask;
}
