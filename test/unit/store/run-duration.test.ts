/** A run's duration is the time it trained: not the queue, not the time stopped before a resume. */
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Store } from '../../../main/store';
import { useTempDir } from '../../helpers/temp';

describe('run duration', () => {
  const tmp = useTempDir();

  it('leaves out waiting in the queue and the time between a stop and its resume', () => {
    const store = Store.open(path.join(tmp(), 'studio.sqlite'));
    const project = store.projects.create({ name: 'p' });
    const experiment = store.projects.createExperiment({ projectId: project.id, name: 'e', kind: 'local-learning' });
    const run = store.runs.create({ experimentId: experiment.id, name: 'r', kind: 'local-learning', config: { method: 'e2e' } }, 0);
    const other = store.runs.create({ experimentId: experiment.id, name: 'q', kind: 'local-learning', config: { method: 'e2e' } }, 0);
    vi.useFakeTimers({ toFake: ['Date'] });
    const duration = (id: number, now: number) => {
      vi.setSystemTime(now);
      return store.runs.get(id).summary.durationMs;
    };
    try {
      expect(duration(run.id, 5_000)).toBeNull(); // queued, never started
      store.runs.setStatus(run.id, 'running', null, 10_000); // waited 10 s in the queue
      expect(duration(run.id, 12_000)).toBe(2_000);
      store.runs.setStatus(run.id, 'interrupted', 'killed', 13_000);
      store.runs.setStatus(run.id, 'queued', null, 60_000); // resumed a minute later, waits again
      expect(duration(run.id, 90_000)).toBe(3_000);
      store.runs.setStatus(run.id, 'running', null, 100_000);
      store.runs.setStatus(run.id, 'done', null, 104_000);
      expect(duration(run.id, 200_000)).toBe(7_000);
      expect(store.runs.get(run.id).startedAt).toBe(10_000); // the first start stays recorded
      // Sorting by duration uses the same figure.
      store.runs.setStatus(other.id, 'running', null, 1_000);
      store.runs.setStatus(other.id, 'done', null, 6_000);
      expect(store.runs.list({ sort: 'duration', descending: true, limit: 10, offset: 0 }, 200_000).runs.map((r) => [r.name, r.summary.durationMs])).toEqual([['r', 7_000], ['q', 5_000]]);
    } finally {
      vi.useRealTimers();
    }
    store.close();
  });
});
