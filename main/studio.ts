/**
 * The main services, assembled once per process and handed to a host. Nothing here knows
 * whether Electron or the web host carries the calls.
 */
import type { StudioEvent } from '../shared/api/contract';
import type { AppInfo } from '../shared/api/schemas';
import type { HostKind } from '../shared/ids';
import { createDispatcher, type Dispatch } from './api/dispatch';
import { createHandlers } from './api/handlers';
import { APP_VERSION } from './platform/app-root';
import { detectBackends, preferredBackend } from './platform/backends';
import { Store } from './store';

export interface Studio {
  readonly store: Store;
  readonly dispatch: Dispatch;
  info(): AppInfo;
  /** Listen to every event the services push; returns the unsubscribe function. */
  subscribe(listener: (event: StudioEvent) => void): () => void;
  close(): void;
}

export function createStudio(options: { host: HostKind; dbPath: string; sqliteBinding?: string | undefined }): Studio {
  const store = Store.open(options.dbPath, { nativeBinding: options.sqliteBinding });
  const backends = detectBackends();
  const info: AppInfo = {
    host: options.host,
    version: APP_VERSION,
    platform: `${process.platform}-${process.arch}`,
    dbPath: store.path,
    backends,
    preferredBackend: preferredBackend(backends),
  };
  const listeners = new Set<(event: StudioEvent) => void>();
  const emit = (event: StudioEvent) => {
    for (const listener of listeners) listener(event);
  };
  const dispatch = createDispatcher(createHandlers({ store, info: () => info, emit }));
  return {
    store,
    dispatch,
    info: () => info,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      listeners.clear();
      store.close();
    },
  };
}
