/**
 * Progress for the windows, at most one event per run every `intervalMs` (the latest one). A small
 * run on the SIMD kernels steps hundreds of times a second; one event per step kept the page busy
 * redrawing and starved its clicks. The first event goes out at once, the last is never dropped:
 * `flush(runId)` sends a pending one now (called before the run's own change, so order holds).
 */
export function progressThrottle<T>(send: (runId: number, value: T) => void, intervalMs = 100) {
  const runs = new Map<number, { sentAt: number; pending?: T; timer?: NodeJS.Timeout }>();
  const flush = (runId: number) => {
    const run = runs.get(runId);
    if (!run || run.pending === undefined) return;
    clearTimeout(run.timer);
    const value = run.pending;
    run.pending = undefined;
    run.timer = undefined;
    run.sentAt = Date.now();
    send(runId, value);
  };
  return {
    push(runId: number, value: T) {
      const run = runs.get(runId) ?? { sentAt: 0 };
      runs.set(runId, run);
      run.pending = value;
      const wait = run.sentAt + intervalMs - Date.now();
      if (wait <= 0) flush(runId);
      else run.timer ??= setTimeout(() => flush(runId), wait);
    },
    flush,
    /** The run ended: send what is pending and forget it. */
    end(runId: number) {
      flush(runId);
      runs.delete(runId);
    },
    close() {
      for (const run of runs.values()) clearTimeout(run.timer);
      runs.clear();
    },
  };
}
