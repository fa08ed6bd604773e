/**
 * A job worker's entry point (bundled to dist/main/job-worker.cjs): it runs one job with its
 * own TF.js backend, posting every event to the job manager, then its result or its error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { JobWorkerData, WorkerMessage } from './protocol';
import { RUNNERS } from './runners';

const { kind, payload, stop } = workerData as JobWorkerData;
const stopFlag = new Int32Array(stop);
const post = (message: WorkerMessage) => parentPort!.postMessage(message);

async function run(): Promise<unknown> {
  const runner = RUNNERS[kind];
  if (!runner) throw new Error(`This worker cannot run jobs of kind "${kind}".`);
  return runner(payload, (event) => post({ type: 'event', event }), () => Atomics.load(stopFlag, 0) === 1);
}

run().then(
  (result) => post({ type: 'finished', result }),
  (error: unknown) => post({ type: 'failed', message: error instanceof Error ? error.message : String(error), name: error instanceof Error ? error.name : 'Error' }),
);
