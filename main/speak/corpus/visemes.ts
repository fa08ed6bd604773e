/**
 * Phonemes to visemes to mouth shapes, and the per-frame mouth of a spoken clip: the viseme
 * shapes around each frame (a 120 ms coarticulation window) scaled by the frame's loudness
 * measured on the WAV, so the mouth opens when the speech gets loud.
 */
import type { PhonemeSpan } from '../audio/phoneme-timing';

export const VISEMES = ['sil', 'PP', 'FF', 'TH', 'DD', 'kk', 'CH', 'SS', 'RR', 'WU', 'aa', 'E', 'I', 'O'] as const;
export type Viseme = (typeof VISEMES)[number];

/** Mouth shape at full loudness: jaw opening 0..1, lip spread -1 (round) .. 1, lips pressed 0..1. */
export interface MouthShape {
  open: number;
  spread: number;
  pressed: number;
}

export const VISEME_SHAPES: Record<Viseme, MouthShape> = {
  sil: { open: 0, spread: 0, pressed: 0 },
  PP: { open: 0, spread: 0, pressed: 1 },
  FF: { open: 0.12, spread: 0.15, pressed: 0 },
  TH: { open: 0.3, spread: 0.15, pressed: 0 },
  DD: { open: 0.35, spread: 0.2, pressed: 0 },
  kk: { open: 0.42, spread: 0.1, pressed: 0 },
  CH: { open: 0.3, spread: -0.45, pressed: 0 },
  SS: { open: 0.18, spread: 0.45, pressed: 0 },
  RR: { open: 0.3, spread: -0.35, pressed: 0 },
  WU: { open: 0.25, spread: -0.9, pressed: 0 },
  aa: { open: 1, spread: 0.1, pressed: 0 },
  E: { open: 0.62, spread: 0.35, pressed: 0 },
  I: { open: 0.38, spread: 0.7, pressed: 0 },
  O: { open: 0.72, spread: -0.6, pressed: 0 },
};

/** The viseme of an espeak-ng English phoneme mnemonic (stress marks removed). */
export function visemeOf(phoneme: string): Viseme {
  if (/^[pbm]$/.test(phoneme)) return 'PP';
  if (/^[fv]$/.test(phoneme)) return 'FF';
  if (/^[TD]$/.test(phoneme)) return 'TH';
  if (/^[tdnl]$|^l#?$|^n-$/.test(phoneme) || phoneme === '@L') return 'DD';
  if (/^[kgNh]$/.test(phoneme) || phoneme === 'x') return 'kk';
  if (/^(tS|dZ|S|Z)$/.test(phoneme)) return 'CH';
  if (/^[sz]$/.test(phoneme)) return 'SS';
  if (/^r/.test(phoneme)) return 'RR';
  if (/^(w|u:|U|U@|u)$/.test(phoneme)) return 'WU';
  if (/^(j|i:|i|I|I#|I2|i@)$/.test(phoneme)) return 'I';
  if (/^(O|O:|0|oU|O@|OI|o@|@U)/.test(phoneme)) return 'O';
  if (/^(a|A|aI|aU|V|a#)/.test(phoneme)) return 'aa';
  if (/^(e|E|eI|e@|3|@|3:)/.test(phoneme)) return 'E';
  return 'DD';
}

export interface MouthFrame {
  /** The viseme spoken at the frame's centre ('sil' between words and in pauses). */
  viseme: Viseme;
  open: number;
  spread: number;
  pressed: number;
}

const COARTICULATION_SECONDS = 0.06;

/**
 * The mouth for each video frame: viseme shapes weighted by their overlap with the frame's
 * window, the opening scaled by `loudness` (0..1, from the WAV) of that frame.
 */
export function mouthTrack(spans: readonly PhonemeSpan[], loudness: ArrayLike<number>, fps: number): MouthFrame[] {
  const out: MouthFrame[] = [];
  for (let f = 0; f < loudness.length; f++) {
    const t = (f + 0.5) / fps;
    const from = t - COARTICULATION_SECONDS, to = t + COARTICULATION_SECONDS;
    let weight = 0, open = 0, spread = 0, pressed = 0;
    let viseme: Viseme = 'sil';
    for (const span of spans) {
      if (span.start <= t && t < span.end) viseme = visemeOf(span.phoneme);
      const overlap = Math.min(to, span.end) - Math.max(from, span.start);
      if (overlap <= 0) continue;
      // Triangular weight: the phoneme at the centre counts most.
      const centre = (Math.max(from, span.start) + Math.min(to, span.end)) / 2;
      const w = overlap * (1 - Math.abs(centre - t) / (COARTICULATION_SECONDS * 1.5));
      const shape = VISEME_SHAPES[visemeOf(span.phoneme)];
      weight += w;
      open += w * shape.open;
      spread += w * shape.spread;
      pressed += w * shape.pressed;
    }
    const window = 2 * COARTICULATION_SECONDS;
    // Silence fills whatever the phonemes do not cover.
    const total = Math.max(weight, window * 0.5);
    const level = Math.max(0, Math.min(1, loudness[f]!));
    const press = Math.min(1, pressed / total);
    out.push({
      viseme,
      // The jaw follows the loudness; the viseme sets how far, and closed-lip visemes (p, b, m) shut it.
      open: (0.3 + 0.7 * (open / total)) * level ** 0.8 * (1 - press),
      spread: (spread / total) * Math.min(1, level * 2),
      pressed: press,
    });
  }
  return out;
}
