/**
 * The import's decode pass: every image of a folder is decoded once, in a job worker so the
 * studio stays responsive, before the set is registered; a file whose header looks right but
 * whose pixels do not decode is named then, not in a later training run. The worker counts
 * decoded images in shared memory; the main side reads that count a few times a second for
 * the progress bar, and ends the worker to cancel.
 */
import { startWorkerTask } from '../jobs/worker-task';
import { FORMATS, type FolderKind } from './formats';

export interface DecodeCheckRequest {
  kind: FolderKind;
  /** The data set folder, absolute. */
  path: string;
  /** Image folders: side of the square images (decoded as training will). */
  size?: number | undefined;
  /** Two Int32s the worker writes: images decoded so far, images in all. */
  progress: SharedArrayBuffer;
}

/** Worker side: the 'dataset-decode' runner. Throws the reader's DatasetError naming the first bad file. */
export async function runDecodeCheck({ kind, path, size, progress }: DecodeCheckRequest): Promise<void> {
  const counts = new Int32Array(progress);
  const onProgress = (done: number, total: number) => {
    Atomics.store(counts, 1, total);
    Atomics.store(counts, 0, done);
  };
  const format = FORMATS[kind];
  const options = { ...(size ? { size } : {}), onProgress };
  if (format.verify) await format.verify(path, options);
  else await format.open(path, options);
}

/** What a cancelled decode pass rejects with. */
export class DecodeCheckCancelled extends Error {
  constructor() {
    super('The import was cancelled while its images were being checked.');
    this.name = 'DecodeCheckCancelled';
  }
}

export interface DecodeCheck {
  /**
   * Resolves once every image decoded; rejects with the worker's error (a reader's problem
   * arrives as an Error named 'DatasetError' whose message names the file), or with
   * DecodeCheckCancelled after cancel().
   */
  done: Promise<void>;
  /** Ends the worker at once. */
  cancel(): void;
}

/** Often enough for a smooth bar, rarely enough to cost nothing. */
const PROGRESS_INTERVAL_MS = 200;

/** Main side: starts the decode pass in a fresh job worker. */
export function startDecodeCheck(request: Omit<DecodeCheckRequest, 'progress'>, onProgress?: (done: number, total: number) => void): DecodeCheck {
  const progress = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
  const counts = new Int32Array(progress);
  const task = startWorkerTask('dataset-decode', { ...request, progress } satisfies DecodeCheckRequest);
  let cancelled = false;
  let reported = -1;
  const report = () => {
    const [done, total] = [Atomics.load(counts, 0), Atomics.load(counts, 1)];
    // total stays 0 until the worker has listed the images.
    if (!onProgress || total === 0 || done === reported) return;
    reported = done;
    onProgress(done, total);
  };
  const timer = setInterval(report, PROGRESS_INTERVAL_MS);
  const done = task.result
    .then(
      () => report(), // the last count, so a bar ends full even when the pass took less than one interval
      (error: unknown) => {
        throw cancelled ? new DecodeCheckCancelled() : error;
      },
    )
    .finally(() => clearInterval(timer));
  return {
    done,
    cancel: () => {
      cancelled = true;
      void task.terminate();
    },
  };
}
