/**
 * Places espeak-ng's phonemes on its own waveform. Speech runs are found from the 10 ms energy
 * envelope (pauses of 80 ms or more split them); the phonemes are laid along the spoken time in
 * order, each taking a share given by its kind (long and stressed vowels longest, stops
 * shortest). An estimate, not a forced alignment: good to a phoneme or so, which is what a
 * mouth at 25 fps needs.
 */
import type { PcmAudio } from './wav';

export interface PhonemeSpan {
  /** espeak-ng mnemonic without stress marks, e.g. 'aU', 'tS', '3:'. */
  phoneme: string;
  stressed: boolean;
  /** Seconds. */
  start: number;
  end: number;
  /** Index of the word in the whole utterance. */
  word: number;
}

const HOP_SECONDS = 0.01;
const MIN_PAUSE_SECONDS = 0.08;
/** Energy below the loudest 10 ms window by this many dB counts as silence. */
const SILENCE_BELOW_PEAK_DB = 38;

/** Speech runs [start, end) in seconds. */
export function speechRuns(audio: PcmAudio): [number, number][] {
  const hop = Math.max(1, Math.round(audio.sampleRate * HOP_SECONDS));
  const n = Math.floor(audio.samples.length / hop);
  const db = new Float32Array(n);
  let peak = -Infinity;
  for (let k = 0; k < n; k++) {
    let sum = 0;
    for (let i = k * hop; i < (k + 1) * hop; i++) sum += audio.samples[i]! ** 2;
    db[k] = 10 * Math.log10(sum / hop + 1e-12);
    peak = Math.max(peak, db[k]!);
  }
  const runs: [number, number][] = [];
  let start = -1, lastActive = -1;
  const gap = Math.round(MIN_PAUSE_SECONDS / HOP_SECONDS);
  for (let k = 0; k < n; k++) {
    if (db[k]! < peak - SILENCE_BELOW_PEAK_DB) continue;
    if (start < 0) start = k;
    else if (k - lastActive > gap) {
      runs.push([start * HOP_SECONDS, (lastActive + 1) * HOP_SECONDS]);
      start = k;
    }
    lastActive = k;
  }
  if (start >= 0) runs.push([start * HOP_SECONDS, (lastActive + 1) * HOP_SECONDS]);
  return runs;
}

const VOWEL_START = /^[aeiouAEIOU03@V]/;

/** Relative duration of a phoneme (espeak-ng English mnemonics). */
export function phonemeWeight(phoneme: string, stressed: boolean): number {
  if (VOWEL_START.test(phoneme)) {
    let w = 1;
    if (phoneme.includes(':')) w *= 1.35;
    if (/^(aI|aU|eI|oU|OI|e@|i@|U@|A@|O@|o@)/.test(phoneme)) w *= 1.4;
    if (phoneme === '@' || phoneme === 'I2' || phoneme === 'a#') w *= 0.6;
    return stressed ? w * 1.3 : w;
  }
  if (/^[ptkbdg]$/.test(phoneme)) return 0.55;
  if (/^(tS|dZ)$/.test(phoneme)) return 0.8;
  if (/^[fvszSZTDh]$/.test(phoneme)) return 0.75;
  if (/^[mnN]$/.test(phoneme)) return 0.6;
  return 0.5; // l r w j and the rest
}

/** Lay the phonemes (clauses -> words -> mnemonics) along the speech runs of `audio`. */
export function alignPhonemes(clauses: string[][][], audio: PcmAudio): PhonemeSpan[] {
  const items: { phoneme: string; stressed: boolean; word: number; weight: number }[] = [];
  let word = 0;
  for (const clause of clauses) {
    for (const w of clause) {
      for (const raw of w) {
        const stressed = /['ˈ]/.test(raw);
        const phoneme = raw.replace(/[',%=ˈˌ]/g, '');
        if (!phoneme || phoneme === '_' || phoneme === '_:' || phoneme === '||') continue;
        items.push({ phoneme, stressed, word, weight: phonemeWeight(phoneme, stressed) });
      }
      word++;
    }
  }
  const runs = speechRuns(audio);
  const spoken = runs.reduce((sum, [a, b]) => sum + (b - a), 0);
  const total = items.reduce((sum, it) => sum + it.weight, 0);
  if (!items.length || spoken <= 0) return [];
  // Map a position along the spoken time to real time, skipping the pauses.
  const toTime = (t: number) => {
    let left = t;
    for (const [a, b] of runs) {
      if (left <= b - a) return a + left;
      left -= b - a;
    }
    return runs[runs.length - 1]![1];
  };
  const spans: PhonemeSpan[] = [];
  let acc = 0;
  for (const it of items) {
    const from = (acc / total) * spoken;
    acc += it.weight;
    const to = (acc / total) * spoken;
    spans.push({ phoneme: it.phoneme, stressed: it.stressed, word: it.word, start: toTime(from), end: toTime(to) });
  }
  return spans;
}
