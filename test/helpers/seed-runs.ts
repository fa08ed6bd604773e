// Bulk runs for UI tests at scale: `node scripts/run-ts.mjs test/helpers/seed-runs.ts DB N` adds N
// generated runs (each with epoch accuracies, step losses and memory) under a "bulk" experiment.
import { Store } from '../../main/store';

const [db, count] = process.argv.slice(2);
const store = Store.open(db!);
const project = store.projects.create({ name: 'bulk' });
const experiment = store.projects.createExperiment({ projectId: project.id, name: 'generated', kind: 'local-learning' });
const METHODS = ['e2e', 'greedy', 'dgl', 'infopro'];
store.db.transaction(() => {
  for (let i = 0; i < Number(count); i++) {
    const method = METHODS[i % METHODS.length]!;
    const run = store.runs.create({ experimentId: experiment.id, name: `bulk run ${i}`, kind: 'local-learning', config: { method, depth: 8, dataset: 'mnist', seed: i, cuts: method === 'e2e' ? [] : [[1, 0]] }, seed: i }, 1_600_000_000_000 + i);
    store.runs.setStatus(run.id, 'done');
    store.metrics.record([
      {
        runId: run.id,
        // Generated accuracies stay below 5% so the real runs are the best ones.
        metrics: [1, 2].map((epoch) => ({ scope: 'epoch' as const, key: 'test_acc', step: epoch, value: ((i * 7) % 50) / 1000 + epoch / 1000, at: epoch })),
        memory: [{ step: 0, module: null, peakBytes: 1_000_000 + i * 1000, method: 'generated', at: 0 }],
      },
    ]);
  }
})();
store.close();
