/**
 * The editor's speech: an uploaded WAV or MP3 (MP3 through ffmpeg, where installed) or a typed
 * sentence spoken by espeak-ng, checked before anything is kept: unreadable, silent, or longer
 * than one generation takes is refused with the reason. What passes is kept as a 16-bit mono WAV
 * with a small JSON beside it (name, source, length, the waveform's peaks for the editor to draw).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { decodeWav, encodeWav, type PcmAudio } from '../audio/wav';
import { EspeakMissingError, espeakAvailable, speak } from '../audio/espeak';
import { decodeAudioFile, FfmpegMissingError } from '../data/video-frames';
import { MAX_GENERATE_SECONDS } from '../speak-model';

/** Speech shorter than this has nothing to say (one video frame is 40 ms). */
export const MIN_SPEECH_SECONDS = 0.2;
/** Below this peak level (about -50 dBFS) the file is taken as silent. */
export const SILENT_PEAK = 0.003;
/** Bars the waveform is drawn with: the peak of each equal slice. */
export const WAVEFORM_BARS = 400;

export class SpeechRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpeechRefused';
  }
}

export interface SpeechInfo {
  id: string;
  name: string;
  source: 'file' | 'text';
  /** The sentence, for typed speech. */
  text: string | null;
  seconds: number;
  sampleRate: number;
  /** Peak |sample| of WAVEFORM_BARS equal slices, 0..1. */
  peaks: number[];
  createdAt: number;
}

export function isMp3(bytes: Uint8Array): boolean {
  // An ID3 tag, or an MPEG audio frame sync (11 set bits).
  return (bytes[0] === 0x49 && bytes[1] === 0x44 && bytes[2] === 0x33) || (bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xe0) === 0xe0);
}

/** Audio from uploaded bytes: a PCM WAV, or an MP3 where ffmpeg can decode it. */
export async function decodeSpeechFile(name: string, bytes: Buffer): Promise<PcmAudio> {
  if (bytes.length === 0) throw new SpeechRefused(`${name} is empty: choose a WAV or MP3 file with speech in it.`);
  if (bytes.toString('ascii', 0, 4) === 'RIFF') {
    try {
      return decodeWav(bytes, name);
    } catch (error) {
      // A truncated file runs the reader off its end (Node's RangeError names an offset, not the problem).
      const why = error instanceof RangeError ? 'it is cut short or damaged (not a whole WAV file)' : (error as Error).message;
      throw new SpeechRefused(`${name} cannot be read: ${why}`);
    }
  }
  if (isMp3(bytes)) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-speech-'));
    try {
      const file = path.join(dir, 'speech.mp3');
      fs.writeFileSync(file, bytes);
      return await decodeAudioFile(file, { sampleRate: 16_000 });
    } catch (error) {
      if (error instanceof FfmpegMissingError) throw new SpeechRefused(`${name} is an MP3, which needs ffmpeg to decode, and ffmpeg is not installed here. Install it (Debian/Ubuntu: sudo apt-get install ffmpeg; macOS: brew install ffmpeg), or upload a WAV instead.`);
      throw new SpeechRefused(`${name} cannot be read as MP3: ${(error as Error).message}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  throw new SpeechRefused(`${name} is neither a WAV nor an MP3 file: choose a WAV (16-bit PCM) or MP3 with speech in it.`);
}

/** Refuses audio the editor cannot use; the message says what to do instead. */
export function checkSpeech(name: string, audio: PcmAudio): void {
  const seconds = audio.samples.length / audio.sampleRate;
  if (!(seconds >= MIN_SPEECH_SECONDS)) throw new SpeechRefused(`${name} lasts ${seconds.toFixed(2)} s; speech needs at least ${MIN_SPEECH_SECONDS} s.`);
  if (seconds > MAX_GENERATE_SECONDS) throw new SpeechRefused(`${name} lasts ${seconds.toFixed(0)} s; one clip takes at most ${MAX_GENERATE_SECONDS} s of speech (its frames are kept in memory): cut it into parts.`);
  let peak = 0;
  for (const v of audio.samples) peak = Math.max(peak, Math.abs(v));
  if (peak < SILENT_PEAK) throw new SpeechRefused(`${name} is silent (its loudest sample is ${(20 * Math.log10(Math.max(peak, 1e-9))).toFixed(0)} dBFS): choose a file with speech in it.`);
}

export function waveformPeaks(audio: PcmAudio, bars = WAVEFORM_BARS): number[] {
  const out: number[] = [];
  const n = audio.samples.length;
  for (let b = 0; b < bars; b++) {
    let peak = 0;
    for (let i = Math.floor((b * n) / bars); i < Math.floor(((b + 1) * n) / bars); i++) peak = Math.max(peak, Math.abs(audio.samples[i]!));
    out.push(Math.round(peak * 1000) / 1000);
  }
  return out;
}

/** Where the editor keeps speech: `<dir>/<id>.wav` with `<id>.json`. */
export class SpeechStore {
  constructor(readonly dir: string) {}

  wavPath(id: string): string {
    if (!/^[a-z0-9-]{1,64}$/.test(id)) throw new SpeechRefused(`"${id}" is not a speech id of this editor.`);
    return path.join(this.dir, `${id}.wav`);
  }

  get(id: string): SpeechInfo {
    const file = this.wavPath(id).replace(/\.wav$/, '.json');
    if (!fs.existsSync(file)) throw new SpeechRefused(`No speech with id ${id}: load or type the speech again.`);
    return JSON.parse(fs.readFileSync(file, 'utf8')) as SpeechInfo;
  }

  /** Checks the audio, then keeps it; nothing is written when it is refused. */
  keep(input: { name: string; source: 'file' | 'text'; text: string | null }, audio: PcmAudio): SpeechInfo {
    checkSpeech(input.name, audio);
    const info: SpeechInfo = { id: randomUUID(), name: input.name, source: input.source, text: input.text, seconds: audio.samples.length / audio.sampleRate, sampleRate: audio.sampleRate, peaks: waveformPeaks(audio), createdAt: Date.now() };
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(this.wavPath(info.id), encodeWav(audio));
    fs.writeFileSync(this.wavPath(info.id).replace(/\.wav$/, '.json'), JSON.stringify(info));
    return info;
  }

  async fromFile(name: string, bytes: Buffer): Promise<SpeechInfo> {
    return this.keep({ name, source: 'file', text: null }, await decodeSpeechFile(name, bytes));
  }

  fromText(text: string, voice?: string): SpeechInfo {
    if (!espeakAvailable()) throw new SpeechRefused('Typed speech needs espeak-ng, which is not installed here. Install it (Debian/Ubuntu: sudo apt-get install espeak-ng; macOS: brew install espeak-ng; Windows: https://github.com/espeak-ng/espeak-ng/releases), or upload a WAV or MP3 instead.');
    let spoken;
    try {
      spoken = speak(text, voice ? { voice } : {});
    } catch (error) {
      if (error instanceof EspeakMissingError) throw new SpeechRefused(error.message);
      throw new SpeechRefused((error as Error).message);
    }
    const clean = text.replace(/\s+/g, ' ').trim();
    return this.keep({ name: `"${clean.length > 40 ? `${clean.slice(0, 40)}...` : clean}"`, source: 'text', text: clean }, spoken.audio);
  }
}
