/**
 * The 8 MEAD emotions as action-unit-like deformations of the 68 landmarks. Each emotion is a
 * mix of FACS action units (weights at intensity 1); each unit moves a few landmarks by a few
 * hundredths of a face unit. Intensity scales the whole mix linearly.
 */
export const EMOTIONS = ['angry', 'contempt', 'disgusted', 'fear', 'happy', 'neutral', 'sad', 'surprised'] as const;
export type Emotion = (typeof EMOTIONS)[number];

export function isEmotion(value: string): value is Emotion {
  return (EMOTIONS as readonly string[]).includes(value);
}

/** The action units the model knows (FACS numbers; 'droop' is a relaxed upper lid). */
export type ActionUnit = 'AU1' | 'AU2' | 'AU4' | 'AU5' | 'AU6' | 'AU7' | 'AU9' | 'AU10' | 'AU12' | 'AU14' | 'AU15' | 'AU17' | 'AU20' | 'AU23' | 'droop';

/** Prototype mixes after Ekman's EMFACS tables (contempt is the one-sided AU14). */
export const EMOTION_UNITS: Record<Emotion, Partial<Record<ActionUnit, number>> & { open?: number }> = {
  neutral: {},
  happy: { AU6: 1, AU12: 1, open: 0.22 },
  sad: { AU1: 1, AU4: 0.45, AU15: 1, AU17: 0.6, droop: 1 },
  angry: { AU4: 1, AU5: 0.35, AU7: 0.9, AU23: 1 },
  surprised: { AU1: 1, AU2: 1, AU5: 1, open: 0.55 },
  fear: { AU1: 1, AU2: 0.6, AU4: 0.55, AU5: 1, AU20: 1, open: 0.2 },
  disgusted: { AU9: 1, AU10: 1, AU4: 0.5, AU15: 0.5, AU17: 0.5 },
  contempt: { AU14: 1 },
};

type Delta = [index: number, dx: number, dy: number];
/** dx is towards the face's midline mirrored per side where noted by `mirror`. */
const UNIT_DELTAS: Record<ActionUnit, { deltas: Delta[]; mirror: boolean }> = {
  // Inner brow raiser.
  AU1: { mirror: true, deltas: [[21, 0, -0.1], [20, 0, -0.06], [19, 0, -0.02]] },
  // Outer brow raiser.
  AU2: { mirror: true, deltas: [[17, 0, -0.08], [18, 0, -0.09], [19, 0, -0.07], [20, 0, -0.03]] },
  // Brow lowerer: down and together (dx > 0 means towards the midline on both sides).
  AU4: { mirror: true, deltas: [[21, 0.04, 0.09], [20, 0.03, 0.07], [19, 0.02, 0.045], [18, 0.01, 0.025], [17, 0, 0.01]] },
  // Upper lid raiser: eyes wide.
  AU5: { mirror: true, deltas: [[37, 0, -0.04], [38, 0, -0.04], [36, 0, -0.005], [39, 0, -0.005]] },
  // Cheek raiser: lower lids pushed up, crow's feet.
  AU6: { mirror: true, deltas: [[40, 0, -0.03], [41, 0, -0.035], [36, 0, -0.01], [1, 0, -0.01], [2, -0.01, -0.015]] },
  // Lid tightener.
  AU7: { mirror: true, deltas: [[40, 0, -0.025], [41, 0, -0.025], [37, 0, 0.012], [38, 0, 0.012]] },
  // Nose wrinkler.
  AU9: { mirror: true, deltas: [[31, 0.01, -0.05], [32, 0, -0.035], [33, 0, -0.025], [29, 0, -0.01], [21, 0.01, 0.03], [20, 0, 0.02], [49, 0, -0.02], [50, 0, -0.02], [51, 0, -0.02]] },
  // Upper lip raiser (shows the upper teeth).
  AU10: { mirror: true, deltas: [[49, 0, -0.035], [50, 0, -0.05], [51, 0, -0.05], [61, 0, -0.06], [62, 0, -0.065]] },
  // Lip corner puller: the smile.
  AU12: { mirror: true, deltas: [[48, -0.07, -0.1], [60, -0.06, -0.09], [49, -0.03, -0.05], [59, -0.03, -0.05], [67, -0.01, -0.015], [50, 0, -0.015], [58, 0, -0.02], [61, 0, -0.02], [3, -0.01, -0.015], [4, -0.01, -0.01]] },
  // Dimpler, one side only (contempt): handled as a one-sided unit below.
  AU14: { mirror: false, deltas: [[54, 0.05, -0.06], [64, 0.045, -0.055], [53, 0.015, -0.02], [55, 0.015, -0.02], [63, 0.01, -0.015], [65, 0.01, -0.01]] },
  // Lip corner depressor.
  AU15: { mirror: true, deltas: [[48, 0.01, 0.08], [60, 0.01, 0.07], [59, 0, 0.03], [49, 0, 0.02], [67, 0, 0.01]] },
  // Chin raiser: pushes the lower lip up.
  AU17: { mirror: true, deltas: [[57, 0, -0.035], [58, 0, -0.03], [66, 0, -0.015], [67, 0, -0.01], [8, 0, -0.025], [7, 0, -0.015]] },
  // Lip stretcher.
  AU20: { mirror: true, deltas: [[48, -0.08, 0.015], [60, -0.075, 0.015], [49, -0.03, 0], [59, -0.03, 0.01]] },
  // Lip tightener / pressor: thinner, narrower lips.
  AU23: { mirror: true, deltas: [[48, 0.04, 0], [60, 0.035, 0], [49, 0.015, 0.02], [50, 0, 0.025], [51, 0, 0.025], [59, 0.015, -0.02], [58, 0, -0.025], [57, 0, -0.025], [61, 0, 0.005], [67, 0, -0.005]] },
  // Relaxed, drooping upper lids (sadness).
  droop: { mirror: true, deltas: [[37, 0, 0.02], [38, 0, 0.025], [39, 0, 0.005]] },
};

/** Mirror a left-side (image-left) landmark to its right-side partner in the iBUG layout. */
const MIRROR: number[] = (() => {
  const m = Array.from({ length: 68 }, (_, i) => i);
  const pairs: [number, number][] = [];
  for (let i = 0; i < 8; i++) pairs.push([i, 16 - i]);
  for (let i = 0; i < 5; i++) pairs.push([17 + i, 26 - i]);
  pairs.push([31, 35], [32, 34], [36, 45], [37, 44], [38, 43], [39, 42], [40, 47], [41, 46]);
  pairs.push([48, 54], [49, 53], [50, 52], [59, 55], [58, 56], [60, 64], [61, 63], [67, 65]);
  for (const [a, b] of pairs) {
    m[a] = b;
    m[b] = a;
  }
  return m;
})();
export const MIRRORED_LANDMARK: readonly number[] = MIRROR;

/**
 * Landmark displacements (face units, [dx, dy] per landmark) for an emotion at an intensity
 * 0..1. Deltas are written for the image-left half; mirrored units are copied to the right with
 * dx flipped; midline points (27-30, 33, 51, 57, 62, 66, 8) are moved once.
 */
export function emotionDisplacement(emotion: Emotion, intensity: number): { delta: [number, number][]; open: number } {
  const delta: [number, number][] = Array.from({ length: 68 }, () => [0, 0]);
  const mix = EMOTION_UNITS[emotion];
  const k = Math.max(0, Math.min(1, intensity));
  for (const [unit, weight] of Object.entries(mix) as [ActionUnit | 'open', number][]) {
    if (unit === 'open') continue;
    const { deltas, mirror } = UNIT_DELTAS[unit];
    for (const [index, dx, dy] of deltas) {
      // Left half moves +dx towards the midline = +x; right half mirrored.
      const add = (i: number, sx: number) => {
        delta[i]![0] += sx * dx * weight * k;
        delta[i]![1] += dy * weight * k;
      };
      if (!mirror) {
        add(index, 1);
        continue;
      }
      const partner = MIRROR[index]!;
      add(index, 1);
      if (partner !== index) add(partner, -1);
    }
  }
  return { delta, open: (mix.open ?? 0) * k };
}
