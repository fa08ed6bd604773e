/**
 * How fast the runs table opens and sorts with 10,000 runs (issue 7): a real SQLite file with
 * 10,000 runs, each with 20 epochs of accuracy, step losses and memory, then the first page
 * (100 rows, as the table asks) under every sort key and a few filters, timed.
 * `npm run bench:runs-table [-- --runs N]`
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RUN_SORT_KEYS } from '../shared/api/schemas';
import { Store } from '../main/store';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] ?? 10_000) || 10_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-bench-'));
const store = Store.open(path.join(dir, 'studio.sqlite'));
const project = store.projects.create({ name: 'bench' });
const experiment = store.projects.createExperiment({ projectId: project.id, name: 'bulk', kind: 'local-learning' });
const METHODS = ['e2e', 'greedy', 'dgl', 'infopro', 'infopro+hpff', 'infopro+man'];

let started = performance.now();
store.db.transaction(() => {
  for (let i = 0; i < runs; i++) {
    const method = METHODS[i % METHODS.length]!;
    const cuts = method === 'e2e' ? [] : Array.from({ length: 1 + (i % 7) }, (_, k) => [1 + (k % 3), k]);
    const run = store.runs.create({ experimentId: experiment.id, name: `${method} run ${i}`, kind: 'local-learning', config: { method, depth: 32, dataset: i % 2 ? 'mnist' : 'ds-1', cuts, seed: i % 5 }, seed: i % 5 }, 1_700_000_000_000 + i);
    store.metrics.record([
      {
        runId: run.id,
        metrics: [
          ...Array.from({ length: 20 }, (_, e) => ({ scope: 'epoch' as const, key: 'test_acc', step: e + 1, value: Math.random(), at: e })),
          ...Array.from({ length: 20 }, (_, s) => ({ scope: 'step' as const, key: 'loss/m0', step: s + 1, value: Math.random(), at: s })),
        ],
        memory: [{ step: 0, module: null, peakBytes: Math.round(Math.random() * 2e9), method: 'tf.profile', at: 0 }],
      },
    ]);
    if (i % 10 === 0) store.runs.tag(run.id, ['paper'], []);
  }
})();
console.log(`filled ${runs} runs (${runs * 40} metric points) in ${((performance.now() - started) / 1000).toFixed(1)} s: ${path.join(dir, 'studio.sqlite')}`);

const time = (label: string, query: Parameters<Store['runs']['list']>[0]) => {
  started = performance.now();
  const page = store.runs.list(query);
  const ms = performance.now() - started;
  console.log(`| ${label.padEnd(34)} | ${String(page.total).padStart(6)} | ${ms.toFixed(1).padStart(8)} |`);
  return ms;
};

console.log('\n| first page of 100 | matching runs | ms |\n|---|---:|---:|');
const times = [time('open (newest first)', { limit: 100, offset: 0 })];
for (const sort of RUN_SORT_KEYS) for (const descending of [false, true]) times.push(time(`sort by ${sort} ${descending ? 'desc' : 'asc'}`, { limit: 100, offset: 0, sort, descending }));
times.push(time('filter method infopro, by best', { limit: 100, offset: 0, methods: ['infopro'], sort: 'best', descending: true }));
times.push(time('filter tag paper', { limit: 100, offset: 0, tags: ['paper'] }));
times.push(time('free text "run 99"', { limit: 100, offset: 0, text: 'run 99' }));
times.push(time('last page, by peak', { limit: 100, offset: runs - 100, sort: 'peak' }));
console.log(`\nslowest query ${Math.max(...times).toFixed(1)} ms, median ${times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!.toFixed(1)} ms (budget: under 1000 ms to open and sort)`);
store.close();
fs.rmSync(dir, { recursive: true, force: true });
