/**
 * The main side's record of running jobs: applies their events to the store (rows through one
 * RecordBuffer, so several jobs share batched transactions) and moves runs along their life
 * cycle. Used for jobs in workers and in-process alike.
 */
import type { Run } from '../../shared/api/schemas';
import { RecordBuffer, type Store } from '../store';
import { THIS_PROCESS } from '../platform/process-owner';
import { removeCheckpoint } from '../engine/train/checkpoint';
import { type JobEvent, JobCancelled } from './events';

export class RunLedger {
  private readonly buffer: RecordBuffer;

  constructor(private readonly store: Store) {
    this.buffer = new RecordBuffer(store.metrics, { onError: (error) => console.error(`[jobs] metrics could not be written: ${String(error)}`) });
  }

  /** The run's worker is about to start: it is `running`, owned by this process (a kill leaves it `interrupted`). */
  begin(runId: number): Run {
    this.store.runs.claim(runId, THIS_PROCESS);
    return this.store.runs.setStatus(runId, 'running');
  }

  apply(runId: number, event: JobEvent): void {
    switch (event.type) {
      case 'started':
        this.store.runs.setEnvironment(runId, event.environment);
        break;
      case 'records':
        this.buffer.push({ runId, ...(event.metrics ? { metrics: event.metrics } : {}), ...(event.memory ? { memory: event.memory } : {}) });
        // Memory samples come once, after the first step: written at once so the dashboard can show them.
        if (event.commit || event.memory?.length) this.buffer.flush();
        break;
      case 'artifact':
        this.buffer.flush();
        this.store.metrics.addArtifact({ runId, ...event.artifact });
        break;
      case 'progress':
        break; // shown, not stored: the step losses already are
      case 'checkpoint':
        break; // the files are the record
    }
  }

  /** Training ended: every row lands, the run is done, and only then does its checkpoint go. */
  finish(runId: number, filesDir: string | null): Run {
    this.buffer.flush();
    const run = this.store.runs.setStatus(runId, 'done');
    if (filesDir) removeCheckpoint(filesDir);
    return run;
  }

  /** The job stopped early: its rows land, and the run says why (`cancelled` keeps it resumable). */
  fail(runId: number, error: unknown): Run {
    this.buffer.flush();
    const cancelled = error instanceof JobCancelled || (error as { name?: string } | null)?.name === 'JobCancelled';
    return this.store.runs.setStatus(runId, cancelled ? 'cancelled' : 'failed', cancelled ? null : errorMessage(error));
  }

  flush(): void {
    this.buffer.flush();
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
