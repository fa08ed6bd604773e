import { describe, expect, it } from 'vitest';
import { decodeWav, encodeWav } from '../../../main/speak/audio/wav';
import { frameCount, frameRms, loudnessFromRms } from '../../../main/speak/audio/loudness';
import { espeakAvailable, parsePhonemes, speak } from '../../../main/speak/audio/espeak';
import { alignPhonemes, speechRuns } from '../../../main/speak/audio/phoneme-timing';
import { mouthTrack, visemeOf } from '../../../main/speak/corpus/visemes';

/** 1 s at 22050 Hz: silence, a 440 Hz tone from 0.4 s to 0.6 s, silence. */
function toneBurst() {
  const sampleRate = 22050;
  const samples = new Float32Array(sampleRate);
  for (let i = Math.round(0.4 * sampleRate); i < Math.round(0.6 * sampleRate); i++) samples[i] = 0.5 * Math.sin((2 * Math.PI * 440 * i) / sampleRate);
  return { sampleRate, samples };
}

describe('WAV and loudness', () => {
  it('writes and reads 16-bit mono PCM exactly', () => {
    const audio = toneBurst();
    const bytes = encodeWav(audio);
    expect(bytes.length).toBe(44 + 2 * audio.samples.length);
    const back = decodeWav(bytes);
    expect(back.sampleRate).toBe(22050);
    expect(back.samples.length).toBe(audio.samples.length);
    let worst = 0;
    for (let i = 0; i < audio.samples.length; i++) worst = Math.max(worst, Math.abs(back.samples[i]! - audio.samples[i]!));
    expect(worst).toBeLessThan(1 / 16000);
    expect(encodeWav(back)).toEqual(bytes);
  });

  it('says what is wrong with a file that is not a 16-bit PCM WAV', () => {
    expect(() => decodeWav(Buffer.from('not a wav at all'), 'speech.mp3')).toThrow(/speech.mp3 is not a WAV file.*ffmpeg/);
    const eightBit = encodeWav(toneBurst());
    eightBit.writeUInt16LE(8, 34);
    expect(() => decodeWav(eightBit, 'x.wav')).toThrow(/8-bit samples; 16-bit PCM is needed/);
  });

  it('measures loudness per 25 fps frame where the sound is', () => {
    const audio = toneBurst();
    expect(frameCount(audio)).toBe(25);
    const rms = frameRms(audio);
    for (let f = 0; f < 25; f++) {
      if (f >= 10 && f < 15) expect(rms[f]!).toBeCloseTo(0.5 / Math.SQRT2, 2);
      else expect(rms[f]!).toBe(0);
    }
    expect(loudnessFromRms(0)).toBe(0);
    expect(loudnessFromRms(10 ** (-45 / 20))).toBeCloseTo(0, 5);
    expect(loudnessFromRms(0.35)).toBe(1);
    expect(loudnessFromRms(10 ** (-28.5 / 20))).toBeCloseTo(0.5, 5);
  });
});

describe('espeak-ng speech', () => {
  it.runIf(espeakAvailable())('speaks a sentence as 22050 Hz mono 16-bit, with its phonemes placed inside the speech', () => {
    const speech = speak('Hello world, this is a quick test.', { voice: 'en-us', variant: 'f2', pitch: 55, speed: 170 });
    expect(speech.wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(speech.wav.readUInt16LE(22)).toBe(1);
    expect(speech.wav.readUInt16LE(34)).toBe(16);
    expect(speech.audio.sampleRate).toBe(22050);
    const seconds = speech.audio.samples.length / speech.audio.sampleRate;
    expect(seconds).toBeGreaterThan(1.2);
    expect(seconds).toBeLessThan(4);
    // Two clauses (the comma), words with phonemes.
    expect(speech.clauses.length).toBe(2);
    expect(speech.clauses[0]!.map((w) => w.join(''))).toEqual(["h@l'oU", "w'3:ld"]);
    const runs = speechRuns(speech.audio);
    expect(runs.length).toBeGreaterThanOrEqual(2); // the pause at the comma
    const spans = alignPhonemes(speech.clauses, speech.audio);
    expect(spans.length).toBe(speech.clauses.flat(2).length);
    for (let i = 0; i < spans.length; i++) {
      expect(spans[i]!.end).toBeGreaterThan(spans[i]!.start);
      if (i) expect(spans[i]!.start).toBeCloseTo(spans[i - 1]!.end, 6);
    }
    expect(spans[0]!.start).toBeCloseTo(runs[0]![0], 6);
    expect(spans[spans.length - 1]!.end).toBeCloseTo(runs[runs.length - 1]![1], 6);
    // Same text and voice: the same bytes (espeak-ng is deterministic).
    expect(speak('Hello world, this is a quick test.', { voice: 'en-us', variant: 'f2', pitch: 55, speed: 170 }).wav).toEqual(speech.wav);
  });

  it('refuses bad voice settings before running anything', () => {
    expect(() => speak('hi', { voice: 'en us; rm' })).toThrow(/not an espeak-ng voice/);
    expect(() => speak('hi', { pitch: 120 })).toThrow(/Pitch 120 must be an integer 0..99/);
    expect(() => speak('   ')).toThrow(/Nothing to say/);
  });

  it('reads espeak-ng phoneme lines into clauses, words and phonemes', () => {
    expect(parsePhonemes(" h @ l 'oU  w '3: l d\n D I s  I z\n")).toEqual([[['h', '@', 'l', "'oU"], ['w', "'3:", 'l', 'd']], [['D', 'I', 's'], ['I', 'z']]]);
  });
});

describe('visemes', () => {
  it('maps phonemes to mouth shapes and opens the mouth with loudness', () => {
    expect(['p', 'b', 'm'].map(visemeOf)).toEqual(['PP', 'PP', 'PP']);
    expect(visemeOf('aI')).toBe('aa');
    expect(visemeOf('u:')).toBe('WU');
    expect(visemeOf('i:')).toBe('I');
    expect(visemeOf('s')).toBe('SS');
    const spans = [{ phoneme: 'A:', stressed: true, start: 0, end: 1, word: 0 }];
    const frames = mouthTrack(spans, [0, 0.25, 0.5, 1], 4);
    expect(frames.map((f) => f.viseme)).toEqual(['aa', 'aa', 'aa', 'aa']);
    expect(frames[0]!.open).toBe(0);
    for (let i = 1; i < 4; i++) expect(frames[i]!.open).toBeGreaterThan(frames[i - 1]!.open);
    const closed = mouthTrack([{ phoneme: 'm', stressed: false, start: 0, end: 1, word: 0 }], [1, 1], 2);
    expect(closed.every((f) => f.pressed > 0.9 && f.open < 1e-9)).toBe(true);
  });
});
