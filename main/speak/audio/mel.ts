/**
 * Log-mel features of speech, the audio side of SPEAK: resample to 16 kHz (the paper's audio
 * rate), a Hann-windowed STFT (25 ms window, 10 ms hop), triangular mel filters (HTK mel scale,
 * peak 1), power in dB, and one window of mel frames centred on each 25 fps video frame.
 *
 * Normalisation is a FIXED dB mapping, not per-clip statistics: power is in dB relative to a
 * full-scale sine (a 0 dBFS tone reads about 0 dB in its band), clamped at `floorDb` (-80 dB),
 * then mapped linearly so floorDb -> -1 and 0 dB -> +1. Silence therefore reads -1 in every clip,
 * a window means the same thing whichever clip it came from, and the padding past either end of
 * the clip is that same silence value.
 */
import type { PcmAudio } from './wav';

export interface MelSettings {
  /** Rate the audio is resampled to before the STFT, Hz. */
  sampleRate: number;
  mels: number;
  windowSeconds: number;
  hopSeconds: number;
  /** Lowest and highest filter edges, Hz (highest defaults to Nyquist when null). */
  fMin: number;
  fMax: number | null;
  /** dB below full scale that counts as silence (the -1 of the normalised scale). */
  floorDb: number;
}

export const MEL_DEFAULTS: MelSettings = {
  sampleRate: 16000,
  mels: 40,
  windowSeconds: 0.025,
  hopSeconds: 0.01,
  fMin: 0,
  fMax: null,
  floorDb: -80,
};

export interface MelSpectrogram {
  /** Normalised log-mel, [frames, mels] row-major; frame j is centred at j * hop seconds. */
  data: Float32Array;
  frames: number;
  mels: number;
  /** Mel frames per second (1 / hop). */
  frameRate: number;
}

export interface MelWindows {
  /** [frames, steps, mels] row-major. */
  data: Float32Array;
  frames: number;
  steps: number;
  mels: number;
}

export interface MelWindowOptions {
  fps: number;
  /** Seconds of audio each window covers, centred on its video frame (0.2 s = 20 mel steps). */
  contextSeconds: number;
}

export const MEL_WINDOW_DEFAULTS: MelWindowOptions = { fps: 25, contextSeconds: 0.2 };

/** Throws a clear message for audio the features cannot be computed from. */
export function checkAudio(audio: PcmAudio): void {
  if (!audio || !(audio.samples instanceof Float32Array)) throw new Error('Audio must have Float32Array samples (mono, -1..1); decode WAV files with decodeWav first.');
  if (!Number.isFinite(audio.sampleRate) || audio.sampleRate <= 0) {
    throw new Error(`Audio sample rate is ${audio.sampleRate}; it must be a positive number of Hz (e.g. 16000 or 22050). Check the WAV header.`);
  }
  if (audio.samples.length === 0) throw new Error('Audio has no samples; give at least one frame of speech (a WAV with a non-empty data chunk).');
}

/**
 * Windowed-sinc resampling (Hann-tapered, 16 zero crossings each side, low-passed at the lower
 * Nyquist so downsampling 22.05 -> 16 kHz does not alias). Weights are renormalised per output
 * sample so a constant stays constant.
 */
export function resample(audio: PcmAudio, targetRate: number): PcmAudio {
  checkAudio(audio);
  if (!Number.isFinite(targetRate) || targetRate <= 0) throw new Error(`Target sample rate ${targetRate} must be a positive number of Hz.`);
  if (audio.sampleRate === targetRate) return { sampleRate: targetRate, samples: Float32Array.from(audio.samples) };
  const ratio = targetRate / audio.sampleRate;
  const cutoff = Math.min(1, ratio); // of the input Nyquist
  const zeroCrossings = 16;
  const half = zeroCrossings / cutoff; // input samples each side
  const input = audio.samples;
  const outLength = Math.max(1, Math.round(input.length * ratio));
  const out = new Float32Array(outLength);
  for (let j = 0; j < outLength; j++) {
    const t = j / ratio;
    const from = Math.max(0, Math.ceil(t - half));
    const to = Math.min(input.length - 1, Math.floor(t + half));
    let sum = 0;
    let weights = 0;
    for (let i = from; i <= to; i++) {
      const x = i - t;
      const arg = Math.PI * cutoff * x;
      const sinc = arg === 0 ? 1 : Math.sin(arg) / arg;
      const w = sinc * 0.5 * (1 + Math.cos((Math.PI * x) / half));
      sum += w * input[i]!;
      weights += w;
    }
    out[j] = weights !== 0 ? sum / weights : 0;
  }
  return { sampleRate: targetRate, samples: out };
}

export const hzToMel = (hz: number): number => 2595 * Math.log10(1 + hz / 700);
export const melToHz = (mel: number): number => 700 * (10 ** (mel / 2595) - 1);

/** The mels + 2 filter edges in Hz; band b rises from edge b, peaks at edge b + 1, falls to edge b + 2. */
function melEdgesHz(settings: MelSettings): number[] {
  const fMax = settings.fMax ?? settings.sampleRate / 2;
  const lo = hzToMel(settings.fMin);
  const hi = hzToMel(fMax);
  return Array.from({ length: settings.mels + 2 }, (_, i) => melToHz(lo + ((hi - lo) * i) / (settings.mels + 1)));
}

/** Centre frequency (the peak) of every mel band, Hz. */
export function melBandCentresHz(settings: Partial<MelSettings> = {}): number[] {
  const s = { ...MEL_DEFAULTS, ...settings };
  return melEdgesHz(s).slice(1, -1);
}

/** Triangular filters [mels][fftBins], peak 1. */
function melFilters(settings: MelSettings, fftSize: number): Float32Array[] {
  const edges = melEdgesHz(settings);
  const bins = fftSize / 2 + 1;
  const filters: Float32Array[] = [];
  for (let b = 0; b < settings.mels; b++) {
    const [left, centre, right] = [edges[b]!, edges[b + 1]!, edges[b + 2]!];
    const filter = new Float32Array(bins);
    for (let k = 0; k < bins; k++) {
      const hz = (k * settings.sampleRate) / fftSize;
      if (hz > left && hz <= centre) filter[k] = (hz - left) / (centre - left);
      else if (hz > centre && hz < right) filter[k] = (right - hz) / (right - centre);
    }
    filters.push(filter);
  }
  return filters;
}

/** In-place iterative radix-2 FFT of (re, im); length a power of two. */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = (-2 * Math.PI) / len;
    const wr = Math.cos(angle);
    const wi = Math.sin(angle);
    for (let start = 0; start < n; start += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = start + k;
        const b = a + len / 2;
        const tr = re[b]! * cr - im[b]! * ci;
        const ti = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - tr;
        im[b] = im[a]! - ti;
        re[a] = re[a]! + tr;
        im[a] = im[a]! + ti;
        const next = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = next;
      }
    }
  }
}

/** Maps a dB value to the normalised scale (floorDb -> -1, 0 dB -> +1), clamped below. */
export function normaliseDb(db: number, floorDb = MEL_DEFAULTS.floorDb): number {
  return 1 - (2 * Math.max(db, floorDb)) / floorDb;
}

/** Normalised log-mel spectrogram of the audio (resampled to settings.sampleRate first). */
export function logMel(audio: PcmAudio, settings: Partial<MelSettings> = {}): MelSpectrogram {
  const s = { ...MEL_DEFAULTS, ...settings };
  if (!Number.isInteger(s.mels) || s.mels < 1) throw new Error(`mels is ${s.mels}; it must be a whole number >= 1 (default 40).`);
  if (!(s.windowSeconds > 0) || !(s.hopSeconds > 0)) throw new Error(`windowSeconds (${s.windowSeconds}) and hopSeconds (${s.hopSeconds}) must be positive.`);
  if (!(s.floorDb < 0)) throw new Error(`floorDb is ${s.floorDb}; it must be negative (e.g. -80).`);
  const pcm = resample(audio, s.sampleRate).samples;
  const win = Math.round(s.windowSeconds * s.sampleRate);
  const hop = Math.round(s.hopSeconds * s.sampleRate);
  let fftSize = 1;
  while (fftSize < win) fftSize <<= 1;
  const hann = Float64Array.from({ length: win }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / win));
  // A full-scale sine of amplitude 1 puts (sum(window) / 2)^2 of power in its bin: that is 0 dB.
  const reference = (hann.reduce((a, b) => a + b, 0) / 2) ** 2;
  const filters = melFilters(s, fftSize);
  const frames = Math.floor(pcm.length / hop) + 1; // frame j centred on sample j * hop
  const data = new Float32Array(frames * s.mels);
  const re = new Float64Array(fftSize);
  const im = new Float64Array(fftSize);
  const power = new Float64Array(fftSize / 2 + 1);
  for (let f = 0; f < frames; f++) {
    re.fill(0);
    im.fill(0);
    const start = f * hop - Math.floor(win / 2);
    for (let i = 0; i < win; i++) {
      const at = start + i;
      if (at >= 0 && at < pcm.length) re[i] = pcm[at]! * hann[i]!;
    }
    fft(re, im);
    for (let k = 0; k < power.length; k++) power[k] = (re[k]! ** 2 + im[k]! ** 2) / reference;
    for (let b = 0; b < s.mels; b++) {
      const filter = filters[b]!;
      let energy = 0;
      for (let k = 0; k < power.length; k++) if (filter[k]) energy += filter[k]! * power[k]!;
      data[f * s.mels + b] = normaliseDb(10 * Math.log10(energy + 1e-12), s.floorDb);
    }
  }
  return { data, frames, mels: s.mels, frameRate: 1 / s.hopSeconds };
}

/**
 * One log-mel window per video frame: `steps = round(contextSeconds * melFrameRate)` mel frames
 * centred on the middle of video frame i (time (i + 0.5) / fps), padded with silence (-1) where
 * the window runs past the clip's ends.
 */
export function melWindows(audio: PcmAudio, frameCount: number, options: Partial<MelWindowOptions> = {}, settings: Partial<MelSettings> = {}): MelWindows {
  const { fps, contextSeconds } = { ...MEL_WINDOW_DEFAULTS, ...options };
  if (!Number.isInteger(frameCount) || frameCount < 1) throw new Error(`frameCount is ${frameCount}; give the number of video frames (a whole number >= 1).`);
  if (!(fps > 0)) throw new Error(`fps is ${fps}; it must be positive (25 for the corpus).`);
  if (!(contextSeconds > 0)) throw new Error(`contextSeconds is ${contextSeconds}; it must be positive (default 0.2).`);
  const mel = logMel(audio, settings);
  return windowsOf(mel, frameCount, fps, contextSeconds);
}

/** The windows cut from an already computed spectrogram (see melWindows). */
export function windowsOf(mel: MelSpectrogram, frameCount: number, fps: number, contextSeconds: number): MelWindows {
  const steps = Math.max(1, Math.round(contextSeconds * mel.frameRate));
  const m = mel.mels;
  const data = new Float32Array(frameCount * steps * m).fill(-1);
  for (let i = 0; i < frameCount; i++) {
    const centre = Math.round(((i + 0.5) / fps) * mel.frameRate);
    const first = centre - Math.floor(steps / 2);
    for (let t = 0; t < steps; t++) {
      const j = first + t;
      if (j < 0 || j >= mel.frames) continue;
      data.set(mel.data.subarray(j * m, (j + 1) * m), (i * steps + t) * m);
    }
  }
  return { data, frames: frameCount, steps, mels: m };
}
