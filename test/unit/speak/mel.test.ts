import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../main/engine/backend/select';
import { speak } from '../../../main/speak/audio/espeak';
import { logMel, melBandCentresHz, melWindows, resample } from '../../../main/speak/audio/mel';
import { audioEncoder } from '../../../main/speak/model/audio-encoder';
import { Params } from '../../../main/speak/model/nn';

function tone(hz: number, seconds: number, sampleRate: number, amplitude = 0.5) {
  const samples = new Float32Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < samples.length; i++) samples[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / sampleRate);
  return { sampleRate, samples };
}

const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;

describe('log-mel features', () => {
  it('puts a 1 kHz tone (22.05 kHz, resampled to 16 kHz) in the mel band whose centre is nearest 1 kHz', () => {
    const mel = logMel(tone(1000, 0.5, 22050));
    expect(mel.mels).toBe(40);
    expect(mel.frameRate).toBe(100);
    const centres = melBandCentresHz();
    const expected = centres.reduce((best, c, i) => (Math.abs(c - 1000) < Math.abs(centres[best]! - 1000) ? i : best), 0);
    // A frame in the middle of the tone: the loudest band is the 1 kHz band, and it is far above bands an octave away.
    const frame = mel.data.subarray(25 * 40, 26 * 40);
    const peak = frame.indexOf(Math.max(...frame));
    expect(peak).toBe(expected);
    const far = centres.findIndex((c) => c > 2000);
    expect(frame[peak]! - frame[far]!).toBeGreaterThan(0.5); // > 20 dB on the -80..0 dB -> -1..1 scale
    // -6 dBFS tone reads about -6 dB in its band (0 dB = full-scale sine, scale 40 dB per unit).
    expect(frame[peak]!).toBeGreaterThan(1 - 12 / 40);
    expect(frame[peak]!).toBeLessThan(1);
  });

  it('resamples without changing a tone’s level or pitch', () => {
    const out = resample(tone(440, 0.2, 22050), 16000);
    expect(out.samples.length).toBe(3200);
    const rms = Math.sqrt(mean(out.samples.subarray(200, 3000).map((v) => v * v)));
    expect(rms).toBeCloseTo(0.5 / Math.SQRT2, 2);
    let crossings = 0;
    for (let i = 1; i < out.samples.length; i++) if (out.samples[i - 1]! < 0 && out.samples[i]! >= 0) crossings++;
    expect(Math.abs(crossings - 88)).toBeLessThanOrEqual(1); // 440 Hz for 0.2 s
  });

  it('gives one window per video frame, silence where espeak is silent and energy where it speaks', () => {
    const speech = speak('Hello world, this is a quick test.', { voice: 'en-us', speed: 170 });
    const silence = new Float32Array(Math.round(0.5 * speech.audio.sampleRate));
    const samples = new Float32Array(silence.length + speech.audio.samples.length);
    samples.set(speech.audio.samples, silence.length);
    const audio = { sampleRate: speech.audio.sampleRate, samples };
    const frameCount = Math.ceil((samples.length / audio.sampleRate) * 25);
    const windows = melWindows(audio, frameCount);
    expect(windows.frames).toBe(frameCount);
    expect(windows.steps).toBe(20);
    expect(windows.mels).toBe(40);
    expect(windows.data.length).toBe(frameCount * 20 * 40);
    const per = 20 * 40;
    const windowMean = (i: number) => mean(windows.data.subarray(i * per, (i + 1) * per));
    // Frames 0-7 (0..0.32 s, windows reach 0.42 s) are the leading silence: at the floor.
    for (let i = 0; i < 8; i++) expect(windowMean(i)).toBeLessThan(-0.95);
    const speaking = Array.from({ length: frameCount - 20 }, (_, k) => windowMean(k + 15));
    expect(Math.max(...speaking)).toBeGreaterThan(-0.2);
    expect(mean(speaking) - windowMean(2)).toBeGreaterThan(0.3);
    // Past the end the window is padded with silence: the last window's second half is -1.
    const last = windows.data.subarray((frameCount - 1) * per, frameCount * per);
    expect(Math.max(...last.subarray(per - 40))).toBe(-1);
  });

  it('refuses audio it cannot use, saying why', () => {
    expect(() => melWindows({ sampleRate: 16000, samples: new Float32Array(0) }, 5)).toThrow(/no samples/);
    expect(() => melWindows({ sampleRate: 0, samples: new Float32Array(100) }, 5)).toThrow(/sample rate is 0.*positive/);
    expect(() => melWindows({ sampleRate: 16000, samples: new Float32Array(100) }, 0)).toThrow(/frameCount is 0/);
    expect(() => logMel({ sampleRate: 16000, samples: new Float32Array(100) }, { mels: 0 })).toThrow(/mels is 0/);
  });
});

describe('audio encoder (TCN + transformer standing in for wav2vec 2.0)', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  /** Eight real log-mel windows of espeak speech, [8, 20, 40]. */
  function speechWindows(): tf.Tensor3D {
    const speech = speak('Open the window, please.', { voice: 'en-us', speed: 170 });
    const w = melWindows(speech.audio, 30);
    return tf.tensor3d(w.data.slice(10 * w.steps * w.mels, 18 * w.steps * w.mels), [8, w.steps, w.mels]);
  }

  it('maps [N, T, M] windows to [N, audioDim], every variable learning', () => {
    const mel = speechWindows();
    const p = new Params('audio', 3);
    const settings = { width: 16, dilations: [1, 2], heads: 2, audioDim: 24 };
    const out = audioEncoder(p, mel, settings);
    expect(out.shape).toEqual([8, 24]);
    const values = out.dataSync();
    expect(values.every(Number.isFinite)).toBe(true);
    // Different windows give different features (the net reads its input).
    expect(Math.abs(values[0]! - values[24 * 5]!) + Math.abs(values[1]! - values[24 * 5 + 1]!)).toBeGreaterThan(1e-4);
    const target = tf.randomNormal([8, 24], 0, 1, 'float32', 7);
    const { grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(audioEncoder(p, mel, settings), target))) as tf.Scalar, p.trainable());
    const names = p.variables().map((v) => v.name);
    expect(names.length).toBeGreaterThan(20);
    expect(names).toContain('audio.tf0.attn.q.w');
    expect(names).toContain('audio.tcn1.a.w');
    for (const { name, variable } of p.variables()) {
      const g = grads[variable.name]!;
      expect(tf.max(tf.abs(g)).dataSync()[0], name).toBeGreaterThan(0);
    }
    tf.dispose([mel, out, target, ...Object.values(grads)]);
    p.dispose();
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const mel = speechWindows();
    const run = (seed: number) => {
      const p = new Params('audio', seed);
      const out = audioEncoder(p, mel, { width: 16 });
      const values = out.dataSync().slice();
      out.dispose();
      p.dispose();
      return values;
    };
    const a = run(11);
    expect(run(11)).toEqual(a);
    const b = run(12);
    expect(a.some((v, i) => Math.abs(v - b[i]!) > 1e-3)).toBe(true);
    mel.dispose();
  });
});
