/**
 * The narrow surface Electron's preload exposes as `window.studioBridge`: one call function and
 * one event subscription, never the raw ipcRenderer. Kept free of imports so the sandboxed
 * preload bundle stays tiny.
 */
export const IPC_CHANNELS = { call: 'studio:call', event: 'studio:event' } as const;

export const BRIDGE_KEY = 'studioBridge';

export interface StudioBridge {
  /** Resolves to an Envelope (see errors.ts): errors travel as data because IPC drops custom error fields. */
  call(name: string, input: unknown): Promise<unknown>;
  onEvent(listener: (event: unknown) => void): () => void;
}
