/**
 * The two ways a call reaches the main services. This file is the only place in the renderer
 * that knows there are two hosts; everything above it sees one StudioApi.
 */
import type { StudioBridge } from '../../../shared/api/bridge';

export interface Transport {
  /** Resolves to the Envelope the host answered with. */
  call(name: string, input: unknown): Promise<unknown>;
  subscribe(listener: (event: unknown) => void): () => void;
}

/** Electron: the preload's bridge over IPC. */
export function bridgeTransport(bridge: StudioBridge): Transport {
  return { call: (name, input) => bridge.call(name, input), subscribe: (listener) => bridge.onEvent(listener) };
}

/** Web host: POST for calls, one WebSocket for events; the launch cookie authenticates both. */
export function webTransport(location: Location = window.location): Transport {
  const listeners = new Set<(event: unknown) => void>();
  let socket: WebSocket | undefined;
  let retryMs = 500;

  function connect() {
    socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/events`);
    socket.onmessage = (message) => {
      const event: unknown = JSON.parse(String(message.data));
      for (const listener of listeners) listener(event);
    };
    socket.onopen = () => (retryMs = 500);
    socket.onclose = () => {
      socket = undefined;
      // The host restarted or the machine slept: reconnect with backoff while anyone listens.
      if (listeners.size) setTimeout(() => listeners.size && !socket && connect(), (retryMs = Math.min(retryMs * 2, 10_000)));
    };
  }

  return {
    async call(name, input) {
      const response = await fetch(`/api/call/${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(input ?? {}),
        credentials: 'same-origin',
      });
      try {
        return await response.json();
      } catch {
        return { ok: false, error: { code: 'internal', message: `The web host answered ${response.status} without a JSON body.` } };
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      if (!socket) connect();
      return () => {
        listeners.delete(listener);
        if (!listeners.size) socket?.close();
      };
    },
  };
}
