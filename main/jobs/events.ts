/**
 * What a running job tells the main side, in order. Any kind of job (local learning today,
 * talking heads and GLCAN later) speaks this vocabulary; the main side writes it to the store
 * (./run-ledger.ts) and fans it out. Plain data: it crosses a worker boundary by postMessage.
 */
import type { MetricPoint, RunEnvironment } from '../../shared/api/schemas';
import type { JobProgress } from '../../shared/api/progress';
import type { Artifact, MemorySample } from '../store/metrics';

export type JobEvent =
  /** Training began (or resumed) on this backend. */
  | { type: 'started'; backend: string; environment: RunEnvironment }
  /** Rows for the store, written in batched transactions; `commit` writes them (and all before) at once. */
  | { type: 'records'; metrics?: MetricPoint[]; memory?: MemorySample[]; commit?: boolean }
  | { type: 'progress'; progress: JobProgress }
  | { type: 'artifact'; artifact: Omit<Artifact, 'id' | 'createdAt' | 'runId'> }
  /** The end-of-epoch checkpoint of this epoch is complete on disk (a remote worker ships it then). */
  | { type: 'checkpoint'; epoch: number };

export type EmitJobEvent = (event: JobEvent) => void;

/** Thrown by a job that saw its stop signal; the run becomes `cancelled`, resumable from its last checkpoint. */
export class JobCancelled extends Error {
  constructor() {
    super('Cancelled by the user.');
    this.name = 'JobCancelled';
  }
}
