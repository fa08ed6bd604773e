import { locateFfmpeg } from '../../main/speak/data/video-frames';

/** ffmpeg when installed (or named by BLOCKWISE_FFMPEG), else null: the tests that need it run only where it is. */
export function installedFfmpeg(): string | null {
  try {
    return locateFfmpeg();
  } catch {
    return null;
  }
}
