/** Messages between the job manager and a job worker (structured-cloned plain data). */
import type { RunnerName } from './runners';
import type { JobEvent } from './events';

/** What a worker starts with (workerData). */
export interface JobWorkerData {
  kind: RunnerName;
  payload: unknown;
  /** One Int32; set to 1 to ask the job to stop after its current step (no event loop needed to see it). */
  stop: SharedArrayBuffer;
}

export type WorkerMessage =
  | { type: 'event'; event: JobEvent }
  | { type: 'finished'; result: unknown }
  | { type: 'failed'; message: string; name: string };
