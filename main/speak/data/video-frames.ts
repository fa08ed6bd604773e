/**
 * Videos and compressed audio (MEAD's .mp4 and .m4a) through ffmpeg, where installed. The studio
 * ships no decoder of its own: without ffmpeg the readers say how to install it, or to convert the
 * clips to folders of frames with a WAV, which read without it.
 *
 * Frames come out of ffmpeg as a stream of binary PPM images (`-f image2pipe -c:v ppm`): raw
 * 8-bit RGB, each with a short header giving its size, so no separate probe of the video's size is
 * needed and frames are handed on as they arrive (a 1080p clip is never held whole). Resampled to
 * 25 fps by ffmpeg's `fps` filter, shrunk to fit `maxSide` by the `scale` filter; the whole decode
 * has a time limit, after which ffmpeg is killed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { RgbImage } from '../../data/image-codec';
import type { PcmAudio } from '../audio/wav';

export class FfmpegMissingError extends Error {
  constructor(readonly command: string) {
    super(
      `ffmpeg is not installed (no "${command}" could be run): reading videos (.mp4) and compressed audio (.m4a) needs it. ` +
        'Install ffmpeg (Debian/Ubuntu: sudo apt-get install ffmpeg; macOS: brew install ffmpeg; Windows: winget install ffmpeg) ' +
        'or set BLOCKWISE_FFMPEG to its path; or convert each clip to a folder of PNG or JPEG frames at 25 fps with an audio.wav, which reads without ffmpeg.',
    );
    this.name = 'FfmpegMissingError';
  }
}

export interface FfmpegOptions {
  /** The ffmpeg program [BLOCKWISE_FFMPEG, else `ffmpeg` on the PATH]. */
  ffmpeg?: string;
  /** The whole decode must finish within this many milliseconds [120000]. */
  timeoutMs?: number;
}

export interface VideoOptions extends FfmpegOptions {
  /** Frames per second out (ffmpeg drops or repeats frames to get it) [25]. */
  fps?: number;
  /** Stop after this many frames. */
  maxFrames?: number;
  /** Shrink frames to fit a square of this many pixels (aspect kept; smaller videos are left as they are) [no scaling]. */
  maxSide?: number;
}

const checked = new Map<string, boolean>();

/** The ffmpeg command to run; throws FfmpegMissingError (with the install message) when it cannot be run. */
export function locateFfmpeg(explicit?: string): string {
  const command = explicit ?? process.env.BLOCKWISE_FFMPEG ?? 'ffmpeg';
  let ok = checked.get(command);
  if (ok === undefined) {
    const probe = spawnSync(command, ['-hide_banner', '-version'], { timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    ok = !probe.error && probe.status === 0 && /ffmpeg version/i.test(String(probe.stdout));
    checked.set(command, ok);
  }
  if (!ok) throw new FfmpegMissingError(command);
  return command;
}

/** ffmpeg's arguments for a video's frames as a PPM stream (its documented flags; see the file comment). */
export function videoArgs(file: string, options: VideoOptions = {}): string[] {
  const fps = options.fps ?? 25;
  if (!(fps > 0 && fps <= 240)) throw new Error(`The frame rate must be above 0 and at most 240; got ${fps}`);
  const filters = [`fps=${fps}`];
  if (options.maxSide !== undefined) {
    if (!Number.isInteger(options.maxSide) || options.maxSide < 16) throw new Error(`maxSide must be a whole number of at least 16 pixels; got ${options.maxSide}`);
    // The box is min(maxSide, the frame's own side), so a small video is never enlarged; quoted for the commas.
    filters.push(`scale='min(${options.maxSide},iw)':'min(${options.maxSide},ih)':force_original_aspect_ratio=decrease`);
  }
  const limit = options.maxFrames !== undefined ? ['-frames:v', String(options.maxFrames)] : [];
  // -nostdin: never wait for keys; -map 0:v:0: the first video stream only; -an -sn -dn: nothing else.
  return ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', file, '-map', '0:v:0', '-an', '-sn', '-dn', '-vf', filters.join(','), ...limit, '-f', 'image2pipe', '-c:v', 'ppm', 'pipe:1'];
}

/** ffmpeg's arguments for the first audio stream as mono 16-bit little-endian PCM. */
export function audioArgs(file: string, sampleRate: number): string[] {
  return ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', file, '-map', '0:a:0', '-vn', '-ac', '1', '-ar', String(sampleRate), '-c:a', 'pcm_s16le', '-f', 's16le', 'pipe:1'];
}

/** Reads binary PPM (P6, maxval 255) images off a byte stream. */
class PpmSplitter {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): RgbImage[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const out: RgbImage[] = [];
    for (;;) {
      const header = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(this.buffer.toString('latin1', 0, Math.min(this.buffer.length, 64)));
      if (!header) {
        if (this.buffer.length >= 64 || (this.buffer.length >= 2 && this.buffer.toString('latin1', 0, 2) !== 'P6')) throw new Error('ffmpeg sent something other than PPM frames');
        return out;
      }
      const [whole, w, h, max] = header;
      if (max !== '255') throw new Error(`ffmpeg sent ${max}-level PPM frames; 255 was asked for`);
      const width = Number(w);
      const height = Number(h);
      const end = whole.length + width * height * 3;
      if (this.buffer.length < end) return out;
      out.push({ width, height, data: new Uint8Array(this.buffer.subarray(whole.length, end)) });
      this.buffer = this.buffer.subarray(end);
    }
  }

  get leftover(): number {
    return this.buffer.length;
  }
}

/**
 * Runs ffmpeg on `file` and yields its stdout chunks; kills it on the time limit or when the
 * consumer stops early. `work` names what it does in the failure message ("decode", "encode").
 */
export async function* runFfmpeg(file: string, args: string[], options: FfmpegOptions, work = 'decode'): AsyncGenerator<Buffer> {
  if (!existsSync(file)) throw new Error(`${file} does not exist.`);
  const command = locateFfmpeg(options.ffmpeg);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-2000);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  exited.catch(() => undefined); // awaited below; this only keeps an early stop from leaving it unhandled
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    const code = await exited;
    if (timedOut) throw new Error(`ffmpeg took longer than ${timeoutMs >= 1000 ? `${timeoutMs / 1000} s` : `${timeoutMs} ms`} on ${file} and was stopped. Give it more time (timeoutMs) or cut the video shorter.`);
    if (code !== 0) throw new Error(`ffmpeg could not ${work} ${file} (exit code ${code}): ${stderr.trim().split('\n').slice(-3).join(' ') || 'no message'}`);
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** The video's frames at `fps`, one at a time as ffmpeg decodes them. */
export async function* videoFrames(file: string, options: VideoOptions = {}): AsyncGenerator<RgbImage> {
  const splitter = new PpmSplitter();
  for await (const chunk of runFfmpeg(file, videoArgs(file, options), options)) yield* splitter.push(chunk);
  if (splitter.leftover) throw new Error(`ffmpeg's output for ${file} ends inside a frame (${splitter.leftover} bytes left over)`);
}

/** The first audio stream of any file ffmpeg reads (m4a, mp4, mp3, wav...), mono, at `sampleRate` Hz. */
export async function decodeAudioFile(file: string, options: FfmpegOptions & { sampleRate?: number } = {}): Promise<PcmAudio> {
  const sampleRate = options.sampleRate ?? 16_000;
  const chunks: Buffer[] = [];
  for await (const chunk of runFfmpeg(file, audioArgs(file, sampleRate), options)) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const samples = new Float32Array(bytes.length >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(2 * i) / 32768;
  if (samples.length === 0) throw new Error(`${file} has no audio that ffmpeg could decode.`);
  return { sampleRate, samples };
}
