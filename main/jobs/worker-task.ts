/**
 * One piece of work in a fresh job worker: a run's training (through the job manager) or a
 * short task such as a memory probe. Resolves with the runner's result; rejects with its error
 * (name kept), or when the worker dies without a word (out of memory, `process.exit`, terminated).
 */
import { Worker } from 'node:worker_threads';
import { workerScript } from '../platform/workers';
import type { JobEvent } from './events';
import type { JobWorkerData, WorkerMessage } from './protocol';
import type { RunnerName } from './runners';

export interface WorkerTask {
  /** Terminates the worker (the promise then rejects). */
  terminate(): Promise<number>;
  result: Promise<unknown>;
}

export interface WorkerTaskOptions {
  stop?: Int32Array;
  onEvent?: (event: JobEvent) => void;
  /** Cap on the worker's JavaScript heap (V8 old generation), MiB; Node's default when absent. */
  heapMiB?: number | undefined;
}

export function startWorkerTask(kind: RunnerName, payload: unknown, options: WorkerTaskOptions = {}): WorkerTask {
  const stop = options.stop ?? new Int32Array(new SharedArrayBuffer(4));
  const data: JobWorkerData = { kind, payload, stop: stop.buffer as SharedArrayBuffer };
  let worker: Worker | undefined;
  const result = new Promise<unknown>((resolve, reject) => {
    // Inside the promise: a missing worker bundle rejects the work instead of throwing at the caller.
    const { heapMiB } = options;
    worker = new Worker(workerScript('job-worker'), { workerData: data, ...(heapMiB ? { resourceLimits: { maxOldGenerationSizeMb: heapMiB } } : {}) });
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'event') options.onEvent?.(message.event);
      else if (message.type === 'finished') resolve(message.result);
      else reject(Object.assign(new Error(message.message), { name: message.name }));
      if (message.type !== 'event') void worker!.terminate();
    });
    worker.on('error', (error: Error & { code?: string }) => {
      if (error.code !== 'ERR_WORKER_OUT_OF_MEMORY') return reject(error);
      const cap = heapMiB ? `its ${heapMiB} MiB JavaScript heap limit (BLOCKWISE_JOB_HEAP_MIB)` : 'the JavaScript heap Node.js gives it';
      reject(new Error(`The worker training this run ran out of memory: it needed more than ${cap}. Train on fewer or smaller images, or raise the limit, then resume or launch it again.`));
    });
    // A worker that ends without a word (out of memory, terminated); after a settled promise this is a no-op.
    worker.on('exit', (code) => reject(new Error(`The worker stopped before its work ended (exit code ${code}).`)));
  });
  return { terminate: async () => (worker ? worker.terminate() : 0), result };
}
