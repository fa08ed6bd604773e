/**
 * The main services, assembled once per process and handed to a host. Nothing here knows
 * whether Electron or the web host carries the calls.
 */
import type { StudioEvent } from '../shared/api/contract';
import type { JobProgress } from '../shared/api/progress';
import type { AppInfo } from '../shared/api/schemas';
import type { HostKind } from '../shared/ids';
import { createDispatcher, type Dispatch } from './api/dispatch';
import { createHandlers } from './api/handlers';
import { DatasetCatalog } from './data/catalog';
import { APP_VERSION } from './platform/app-root';
import { detectBackends, preferredBackend } from './platform/backends';
import { isProcessAlive, THIS_PROCESS } from './platform/process-owner';
import { JobManager } from './jobs/job-manager';
import { progressThrottle } from './jobs/progress-throttle';
import { RemoteService } from './remote/remote-service';
import { Store } from './store';

export interface Studio {
  readonly store: Store;
  readonly datasets: DatasetCatalog;
  readonly jobs: JobManager;
  /** The remote queue (Redis + BullMQ workers), when one is set up. */
  readonly remote: RemoteService;
  readonly dispatch: Dispatch;
  info(): AppInfo;
  /** Listen to every event the services push; returns the unsubscribe function. */
  subscribe(listener: (event: StudioEvent) => void): () => void;
  /** Stops running jobs (their runs become interrupted, resumable) and closes the database. */
  close(): Promise<void>;
}

export interface StudioOptions {
  host: HostKind;
  dbPath: string;
  /** A better-sqlite3 binary built for Electron's ABI (platform/native-sqlite.ts). */
  sqliteBinding?: string | undefined;
  /** The host's native folder picker, where it has one. */
  pickFolder?: (title: string) => Promise<string | null>;
  /** How many runs train at once; default 1 (each job owns a core on the CPU backends). */
  concurrency?: number;
}

export function createStudio(options: StudioOptions): Studio {
  const store = Store.open(options.dbPath, { nativeBinding: options.sqliteBinding });
  // Runs a killed process left `running` are `interrupted` from here on, with Resume on offer.
  store.runs.recoverInterrupted(THIS_PROCESS.host, isProcessAlive);
  const datasets = new DatasetCatalog(store);
  const backends = detectBackends();
  const info: AppInfo = {
    host: options.host,
    version: APP_VERSION,
    platform: `${process.platform}-${process.arch}`,
    dbPath: store.path,
    backends,
    preferredBackend: preferredBackend(backends),
    capabilities: { nativeDialogs: options.pickFolder !== undefined },
  };
  const listeners = new Set<(event: StudioEvent) => void>();
  const emit = (event: StudioEvent) => {
    for (const listener of listeners) {
      // One broken subscriber (a window closing mid-send) must not fail the call that changed the data.
      try {
        listener(event);
      } catch (error) {
        console.error(`[studio] an event listener failed on ${event.name}: ${String(error)}`);
      }
    }
  };
  const jobs = new JobManager({ store, datasets, concurrency: options.concurrency ?? 1 });
  const progress = progressThrottle<{ experimentId: number; progress: JobProgress }>((runId, p) => emit({ name: 'runs:progress', payload: { runId, ...p } }));
  jobs.subscribe((update) => {
    const { runId, experimentId } = update;
    if (update.type === 'run') {
      if (update.run.status === 'running') progress.flush(runId);
      else progress.end(runId);
      emit({ name: 'runs:changed', payload: { runId, experimentId } });
    } else if (update.event.type === 'progress') progress.push(runId, { experimentId, progress: update.event.progress });
  });
  // Remote runs keep training while the studio is closed; this reads on from the last event it applied.
  const remote = new RemoteService(store, jobs);
  const dispatch = createDispatcher(createHandlers({ store, info: () => info, datasets, jobs, remote, emit, pickFolder: options.pickFolder }));
  return {
    store,
    datasets,
    jobs,
    remote,
    dispatch,
    info: () => info,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      progress.close();
      listeners.clear();
      await remote.close();
      await jobs.close();
      store.close();
    },
  };
}
