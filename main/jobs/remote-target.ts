/**
 * The job manager's other destination: runs queued on a remote queue (../remote/) instead of
 * trained here. Such a run is owned by REMOTE_OWNER_HOST with the attempt's number in place of a
 * pid, so this host's dead-owner checks never touch it, the local queue never starts it, and
 * entries of an older attempt are told apart.
 */
import type { Run } from '../../shared/api/schemas';
import type { JobKind } from '../../shared/ids';
import type { JobEvent } from './events';
import type { JobOutcome } from './job-manager';
import type { RunLedger } from './run-ledger';

export const REMOTE_OWNER_HOST = 'remote-queue';

export const remoteOwner = (attempt: number) => ({ pid: attempt, host: REMOTE_OWNER_HOST });

export interface RemoteTarget {
  /** Refuses (throws, saying why) when runs cannot be queued remotely now, before anything is created. */
  checkAvailable(run: { kind: JobKind; config: Record<string, unknown> }): void;
  /** Queue the run as a new attempt (it is `queued` and owned by the queue after this); `resume` continues from its checkpoint. */
  enqueue(run: Run, resume: boolean): Run;
  /** Stop a queued or running remote run (running: after its current step, on the worker). */
  cancel(runId: number): Run;
}

/** How a remote target records what its runs report, through the manager's own ledger and subscribers. */
export interface RemoteSink {
  ledger: RunLedger;
  record(runId: number, experimentId: number, event: JobEvent): void;
  changed(run: Run): void;
  settle(outcome: JobOutcome): void;
}
