/**
 * Speech from Debian's espeak-ng: the waveform (16-bit mono 22050 Hz WAV) and the phonemes it
 * spoke (clauses -> words -> phoneme mnemonics), from two runs of the same deterministic
 * synthesiser. The command-line tool does not print phoneme times (its --pho output needs an
 * MBROLA voice), so ./phoneme-timing places the phonemes on the waveform.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeWav, type PcmAudio } from './wav';

export const ESPEAK_INSTALL_HINT = 'espeak-ng is not installed: the talking-face corpus speaks its sentences with it. Install it with `apt-get install espeak-ng` (Debian/Ubuntu), `brew install espeak-ng` (macOS) or from https://github.com/espeak-ng/espeak-ng/releases, then run again.';

export class EspeakMissingError extends Error {
  constructor() {
    super(ESPEAK_INSTALL_HINT);
  }
}

export interface VoiceOptions {
  /** espeak-ng voice: en-us, en (British), en-scotland, ... [en-us] */
  voice?: string;
  /** Voice variant: m1..m8, f1..f5 [none] */
  variant?: string;
  /** Pitch 0..99 [50] */
  pitch?: number;
  /** Words per minute, 80..450 [165] */
  speed?: number;
}

export interface Speech {
  /** The WAV exactly as espeak-ng wrote it. */
  wav: Buffer;
  audio: PcmAudio;
  /** Phoneme mnemonics (stress marks kept) per word, per clause. */
  clauses: string[][][];
}

const BINARY = 'espeak-ng';

let available: boolean | undefined;
/** Whether `espeak-ng` runs here (asked once per process). */
export function espeakAvailable(): boolean {
  if (available === undefined) {
    try {
      execFileSync(BINARY, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
      available = true;
    } catch {
      available = false;
    }
  }
  return available;
}

function voiceArgs(options: VoiceOptions): string[] {
  const voice = options.voice ?? 'en-us';
  if (!/^[a-z]{2,3}(-[a-z0-9]+)*$/i.test(voice)) throw new Error(`Voice "${voice}" is not an espeak-ng voice name (e.g. en-us, en, en-scotland).`);
  if (options.variant !== undefined && !/^(m[1-8]|f[1-5])$/.test(options.variant)) throw new Error(`Voice variant "${options.variant}" is not one of m1..m8, f1..f5.`);
  const pitch = options.pitch ?? 50, speed = options.speed ?? 165;
  if (!Number.isInteger(pitch) || pitch < 0 || pitch > 99) throw new Error(`Pitch ${pitch} must be an integer 0..99.`);
  if (!Number.isInteger(speed) || speed < 80 || speed > 450) throw new Error(`Speed ${speed} must be an integer 80..450 words per minute.`);
  return ['-v', options.variant ? `${voice}+${options.variant}` : voice, '-p', String(pitch), '-s', String(speed)];
}

/** Speak `text`: the WAV and the phonemes. Throws EspeakMissingError where espeak-ng is absent. */
export function speak(text: string, options: VoiceOptions = {}): Speech {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (!clean) throw new Error('Nothing to say: the sentence is empty.');
  const args = voiceArgs(options);
  if (!espeakAvailable()) throw new EspeakMissingError();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'blockwise-espeak-'));
  try {
    const file = path.join(dir, 'speech.wav');
    // Text goes in on stdin so that no sentence is ever read as an option.
    // Bounded: a stuck espeak-ng must not hold the host (a sentence of 2000 characters takes ~2 s).
    const limits = { timeout: 60_000, killSignal: 'SIGKILL' as const };
    execFileSync(BINARY, [...args, '-w', file, '--stdin'], { input: clean, stdio: ['pipe', 'ignore', 'pipe'], ...limits });
    const phonemes = execFileSync(BINARY, [...args, '-q', '-x', '--sep= ', '--stdin'], { input: clean, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...limits });
    const wav = readFileSync(file);
    return { wav, audio: decodeWav(wav, 'espeak-ng output'), clauses: parsePhonemes(phonemes) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** espeak-ng -x --sep=' ' output: one clause a line, words split by two spaces, phonemes by one. */
export function parsePhonemes(output: string): string[][][] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => line.split(/ {2,}/).map((word) => word.split(' ').filter(Boolean)).filter((w) => w.length));
}
