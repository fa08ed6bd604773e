/**
 * A generated clip as an MP4 (H.264 + AAC) through ffmpeg, where installed (issue 15: "MP4 where
 * ffmpeg is present"; WebM and the PNG frames + WAV export without it). The frames are scaled up
 * to `side` px for viewing; the MP4 is fragmented so it can stream out of ffmpeg's stdout without a
 * temporary file; the encode has a time limit (./video-frames.ts kills ffmpeg past it).
 */
import path from 'node:path';
import { FfmpegMissingError, locateFfmpeg, runFfmpeg, type FfmpegOptions } from '../data/video-frames';
import { EditorInputError } from './talking-head-editor';

export interface Mp4Options extends FfmpegOptions {
  /** Side of the video's square frames, pixels [256]. */
  side?: number;
}

/** ffmpeg's arguments for a clip folder (000000.png... at `fps` and audio.wav) to a fragmented MP4 on stdout. */
export function mp4Args(dir: string, fps: number, side: number): string[] {
  return [
    '-nostdin', '-hide_banner', '-loglevel', 'error',
    '-framerate', String(fps), '-i', path.join(dir, '%06d.png'),
    '-i', path.join(dir, 'audio.wav'),
    '-map', '0:v:0', '-map', '1:a:0',
    '-vf', `scale=${side}:${side}:flags=bicubic,format=yuv420p`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18',
    '-c:a', 'aac', '-b:a', '128k',
    '-movflags', 'frag_keyframe+empty_moov', '-f', 'mp4', 'pipe:1',
  ];
}

/** The clip in `dir` as MP4 bytes; says how to install ffmpeg where it is missing. */
export async function clipMp4(dir: string, fps: number, options: Mp4Options = {}): Promise<Buffer> {
  const side = options.side ?? 256;
  if (!Number.isInteger(side) || side < 16 || side > 2048 || side % 2 !== 0) throw new EditorInputError(`The MP4's side must be an even number of pixels from 16 to 2048, got ${side}`);
  try {
    locateFfmpeg(options.ffmpeg);
  } catch (error) {
    if (!(error instanceof FfmpegMissingError)) throw error;
    throw new EditorInputError(
      'MP4 export needs ffmpeg, which is not installed here. Install it (Debian/Ubuntu: sudo apt-get install ffmpeg; macOS: brew install ffmpeg; Windows: winget install ffmpeg) or set BLOCKWISE_FFMPEG to its path; the WebM and the PNG frames + WAV exports work without it.',
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of runFfmpeg(path.join(dir, '000000.png'), mp4Args(dir, fps, side), { timeoutMs: 120_000, ...options }, 'encode')) chunks.push(chunk);
  return Buffer.concat(chunks);
}
