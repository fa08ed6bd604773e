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

/** How long the events socket stays open with no listener (ms). */
const IDLE_CLOSE_MS = 10_000;

/** Web host: POST for calls, one WebSocket for events; the launch cookie authenticates both. */
export function webTransport(location: Location = window.location): Transport {
  const listeners = new Set<(event: unknown) => void>();
  let socket: WebSocket | undefined;
  let retryMs = 500;
  let idleClose: ReturnType<typeof setTimeout> | undefined;

  function connect() {
    const opened = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/events`);
    socket = opened;
    opened.onmessage = (message) => {
      const event: unknown = JSON.parse(String(message.data));
      for (const listener of listeners) listener(event);
    };
    opened.onopen = () => (retryMs = 500);
    opened.onclose = () => {
      if (socket !== opened) return; // a newer socket took over while this one was closing
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
      clearTimeout(idleClose);
      if (!socket || socket.readyState >= WebSocket.CLOSING) connect();
      return () => {
        listeners.delete(listener);
        // Switching views unsubscribes the old view before the new one subscribes: closing at once
        // would drop every event until the reconnect (a second or more), so close only when idle.
        if (!listeners.size) idleClose = setTimeout(() => !listeners.size && socket?.close(), IDLE_CLOSE_MS);
      };
    },
  };
}
