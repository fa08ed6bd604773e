import { spawn } from 'node:child_process';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../../shared/api/errors';
import type { RunEnvironment } from '../../../shared/api/schemas';
import { RecordBuffer, Store } from '../../../main/store';
import { useTempDir } from '../../helpers/temp';

const environment: RunEnvironment = { backend: 'wasm', versions: { node: '20' }, platform: 'linux', arch: 'x64', cpus: 2, gitCommit: null };

function seed(store: Store) {
  const project = store.projects.create({ name: 'Local learning' });
  const experiment = store.projects.createExperiment({ projectId: project.id, name: 'InfoPro vs E2E', kind: 'local-learning' });
  const run = store.runs.create({ experimentId: experiment.id, name: 'infopro-k4', kind: 'local-learning', config: { method: 'infopro', split: 4 }, seed: 7, environment });
  return { project, experiment, run };
}

const count = (store: Store, table: string) => (store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('store', () => {
  const tmp = useTempDir();
  const dbFile = () => path.join(tmp(), 'studio.sqlite');

  it('keeps a run with its metrics, memory, tags, notes and artifacts across a reopen', () => {
    const file = dbFile();
    const store = Store.open(file);
    const { run } = seed(store);
    store.runs.setStatus(run.id, 'running', null, 1000);
    store.metrics.record([
      {
        runId: run.id,
        metrics: [
          { scope: 'step', key: 'loss/m0', step: 0, value: 2.3, at: 1 },
          { scope: 'step', key: 'loss/m0', step: 1, value: 1.9, at: 2 },
          { scope: 'epoch', key: 'test_acc', step: 1, value: 0.91, at: 3 },
        ],
        memory: [{ step: 1, module: null, peakBytes: 12_345_678, method: 'tf.profile peakBytes', at: 3 }],
      },
    ]);
    store.runs.tag(run.id, ['k4', 'baseline'], []);
    store.runs.update(run.id, { notes: 'first try' });
    store.metrics.addArtifact({ runId: run.id, kind: 'model', path: '/tmp/model.json', bytes: 10, meta: { format: 'tfjs' } });
    store.runs.setStatus(run.id, 'done', null, 5000);
    store.close();

    const reopened = Store.open(file);
    const again = reopened.runs.get(run.id);
    expect(again).toMatchObject({ status: 'done', startedAt: 1000, endedAt: 5000, seed: 7, notes: 'first try', tags: ['baseline', 'k4'], environment });
    expect(again.config).toEqual({ method: 'infopro', split: 4 });
    expect(reopened.metrics.series(run.id)).toEqual([
      { key: 'test_acc', scope: 'epoch', steps: [1], values: [0.91] },
      { key: 'loss/m0', scope: 'step', steps: [0, 1], values: [2.3, 1.9] },
    ]);
    expect(reopened.metrics.memory(run.id)).toEqual([{ step: 1, module: null, peakBytes: 12_345_678, method: 'tf.profile peakBytes', at: 3 }]);
    expect(reopened.metrics.artifacts(run.id)).toMatchObject([{ kind: 'model', meta: { format: 'tfjs' } }]);
    reopened.close();
  });

  it('writes nothing of a batch whose row midway is rejected', () => {
    const store = Store.open(dbFile());
    const { run } = seed(store);
    const good = (step: number) => ({ scope: 'step' as const, key: 'loss', step, value: 1, at: 0 });
    expect(() =>
      store.metrics.record([
        { runId: run.id, metrics: [good(0), good(1)] },
        { runId: run.id, metrics: [good(2), { ...good(3), value: Number.NaN }, good(4)] },
      ]),
    ).toThrow(/not a finite number/);
    // A foreign-key failure (unknown run) midway is rolled back the same way.
    expect(() => store.metrics.record([{ runId: run.id, metrics: [good(0)] }, { runId: 9999, metrics: [good(0)] }])).toThrow(/FOREIGN KEY/);
    expect(count(store, 'metrics')).toBe(0);
    store.close();
  });

  it('leaves no partial rows when the writing process is killed mid-transaction', async () => {
    const file = dbFile();
    const store = Store.open(file);
    const { run } = seed(store);
    store.metrics.record([{ runId: run.id, metrics: [{ scope: 'epoch', key: 'test_acc', step: 0, value: 0.5, at: 0 }] }]);
    store.close();

    const child = path.join(tmp(), 'child.cjs');
    buildSync({ entryPoints: ['test/fixtures/record-huge-batch.ts'], outfile: child, bundle: true, platform: 'node', format: 'cjs', external: ['better-sqlite3'], logLevel: 'error' });
    const proc = spawn(process.execPath, [child, file, String(run.id), '3000000'], { env: { ...process.env, NODE_PATH: path.resolve('node_modules') } });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('recording')) setTimeout(resolve, 400);
      });
      proc.on('exit', (code) => reject(new Error(`child exited early (${code}): ${out}`)));
    });
    proc.kill('SIGKILL');
    await new Promise((resolve) => proc.on('exit', resolve));
    expect(out).not.toContain('done');

    const reopened = Store.open(file);
    expect(reopened.metrics.series(run.id)).toEqual([{ key: 'test_acc', scope: 'epoch', steps: [0], values: [0.5] }]);
    expect(reopened.db.pragma('integrity_check', { simple: true })).toBe('ok');
    reopened.close();
  });

  it('turns a duplicate name into a conflict that says what to do', () => {
    const store = Store.open(dbFile());
    store.projects.create({ name: 'Alpha' });
    const attempt = () => store.projects.create({ name: 'alpha' });
    expect(attempt).toThrow(ApiError);
    expect(attempt).toThrow(/already exists: choose another name/);
    expect(count(store, 'projects')).toBe(1);
    store.close();
  });

  it('stamps start and end times along the run life cycle', () => {
    const store = Store.open(dbFile());
    const { run } = seed(store);
    expect(run).toMatchObject({ status: 'queued', startedAt: null, endedAt: null });
    expect(store.runs.setStatus(run.id, 'running', null, 10)).toMatchObject({ startedAt: 10, endedAt: null });
    expect(store.runs.setStatus(run.id, 'failed', 'out of memory', 20)).toMatchObject({ status: 'failed', startedAt: 10, endedAt: 20, error: 'out of memory' });
    expect(() => store.runs.setStatus(4242, 'done')).toThrow(/No run with id 4242/);
    store.close();
  });

  it('marks interrupted only the running runs whose owner process on this host is gone', () => {
    const store = Store.open(dbFile());
    const { run, experiment } = seed(store);
    const other = (name: string) => store.runs.create({ experimentId: experiment.id, name, kind: 'local-learning', config: {} });
    const [dead, live, remote, finished] = [run, other('live'), other('remote'), other('finished')];
    const owners: [typeof run, number, string][] = [[dead, 111, 'here'], [live, 222, 'here'], [remote, 111, 'elsewhere'], [finished, 111, 'here']];
    for (const [r, pid, host] of owners) {
      store.runs.claim(r.id, { pid, host });
      store.runs.setStatus(r.id, 'running');
    }
    store.runs.setStatus(finished.id, 'done');
    expect(store.runs.recoverInterrupted('here', (pid) => pid === 222, 50)).toEqual([dead.id]);
    expect(store.runs.get(dead.id)).toMatchObject({ status: 'interrupted', endedAt: 50, error: expect.stringContaining('pid 111') });
    expect([live, remote, finished].map((r) => store.runs.get(r.id).status)).toEqual(['running', 'running', 'done']);
    store.close();
  });

  it('pages runs newest first and filters by status', () => {
    const store = Store.open(dbFile());
    const { experiment } = seed(store);
    for (let i = 0; i < 5; i++) store.runs.create({ experimentId: experiment.id, name: `r${i}`, kind: 'local-learning', config: {} }, 100 + i);
    const page = store.runs.list({ experimentId: experiment.id, limit: 2, offset: 0 });
    expect(page.total).toBe(6);
    expect(page.runs.map((r) => r.name)).toEqual(['infopro-k4', 'r4']);
    expect(store.runs.list({ status: 'done', limit: 10, offset: 0 }).total).toBe(0);
    store.close();
  });

  it('deletes a project with everything under it', () => {
    const store = Store.open(dbFile());
    const { project, run } = seed(store);
    store.metrics.record([{ runId: run.id, metrics: [{ scope: 'step', key: 'loss', step: 0, value: 1, at: 0 }] }]);
    store.runs.tag(run.id, ['x'], []);
    store.db.prepare('DELETE FROM projects WHERE id = ?').run(project.id);
    for (const table of ['experiments', 'runs', 'metrics', 'tags']) expect(count(store, table)).toBe(0);
    store.close();
  });
});

describe('RecordBuffer', () => {
  const tmp = useTempDir();

  it('writes a transaction when maxRows are waiting, and the rest on flush', () => {
    const store = Store.open(path.join(tmp(), 'studio.sqlite'));
    const { run } = seed(store);
    const spy = vi.spyOn(store.metrics, 'record');
    const buffer = new RecordBuffer(store.metrics, { maxRows: 3, intervalMs: 60_000 });
    for (let step = 0; step < 4; step++) buffer.push({ runId: run.id, metrics: [{ scope: 'step', key: 'loss', step, value: step, at: 0 }] });
    expect(spy).toHaveBeenCalledTimes(1);
    expect(count(store, 'metrics')).toBe(3);
    expect(buffer.pendingRows).toBe(1);
    buffer.flush();
    expect(count(store, 'metrics')).toBe(4);
    store.close();
  });

  it('flushes on its interval and reports a failed batch without blocking the next', async () => {
    const store = Store.open(path.join(tmp(), 'studio.sqlite'));
    const { run } = seed(store);
    const errors: unknown[] = [];
    const buffer = new RecordBuffer(store.metrics, { maxRows: 100, intervalMs: 20, onError: (e) => errors.push(e) });
    buffer.push({ runId: 9999, metrics: [{ scope: 'step', key: 'loss', step: 0, value: 1, at: 0 }] });
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    buffer.push({ runId: run.id, metrics: [{ scope: 'step', key: 'loss', step: 0, value: 1, at: 0 }] });
    await vi.waitFor(() => expect(count(store, 'metrics')).toBe(1));
    store.close();
  });
});

describe('saved splits', () => {
  const tmp = useTempDir();

  it('keep checked cut lists by name, refuse impossible ones and duplicate names, and delete', () => {
    const store = Store.open(path.join(tmp(), 'studio.sqlite'));
    const saved = store.splits.save({ name: 'three cuts', depth: 8, cuts: [[2, 0], [0, 0], [1, 0]] });
    expect(saved).toMatchObject({ name: 'three cuts', depth: 8, cuts: [[0, 0], [1, 0], [2, 0]] });
    expect(() => store.splits.save({ name: 'bad', depth: 8, cuts: [[3, 0]] })).toThrow('Cut [3, 0] is the end of the network');
    expect(() => store.splits.save({ name: 'deep', depth: 18, cuts: [] })).toThrow('ResNet-18 is not available');
    expect(() => store.splits.save({ name: 'THREE CUTS', depth: 8, cuts: [] })).toThrow('A split named "THREE CUTS" already exists');
    expect(store.splits.list().map((s) => s.name)).toEqual(['three cuts']);
    store.splits.remove(saved.id);
    expect(store.splits.list()).toEqual([]);
    expect(() => store.splits.remove(saved.id)).toThrow(`No saved split with id ${saved.id}.`);
    store.close();
  });
});

describe('job queue order', () => {
  const tmp = useTempDir();

  it('lists a process\'s queued runs in submission order until reordered, and refuses an order that misses a run', () => {
    const store = Store.open(path.join(tmp(), 'studio.sqlite'));
    const { experiment, run } = seed(store);
    const owner = { pid: 4242, host: 'here' };
    const more = [1, 2].map((i) => store.runs.create({ experimentId: experiment.id, name: `r${i}`, kind: 'local-learning', config: {} }).id);
    for (const id of [run.id, ...more]) store.runs.claim(id, owner);
    expect(store.runs.queuedBy(owner)).toEqual([run.id, ...more]);
    store.runs.reorderQueue(owner, [more[1]!, run.id, more[0]!]);
    expect(store.runs.queuedBy(owner)).toEqual([more[1], run.id, more[0]]);
    expect(() => store.runs.reorderQueue(owner, [run.id, more[0]!])).toThrow(`The queue is now [${more[1]}, ${run.id}, ${more[0]}]`);
    expect(store.runs.queuedBy({ pid: 1, host: 'here' })).toEqual([]);
    store.close();
  });
});

describe('runs table query', () => {
  const tmp = useTempDir();

  function fill(store: Store) {
    const { experiment } = seed(store);
    const make = (name: string, method: string, cuts: number[][], accuracies: number[], peak: number | null, tags: string[] = []) => {
      const run = store.runs.create({ experimentId: experiment.id, name, kind: 'local-learning', config: { method, depth: 8, dataset: 'mnist', cuts } });
      store.metrics.record([
        {
          runId: run.id,
          metrics: accuracies.map((value, i) => ({ scope: 'epoch' as const, key: 'test_acc', step: i + 1, value, at: i })),
          memory: peak === null ? [] : [{ step: 0, module: null, peakBytes: peak, method: 'tf.profile', at: 0 }, { step: 0, module: 0, peakBytes: peak / 2, method: 'tf.profile', at: 0 }],
        },
      ]);
      if (tags.length) store.runs.tag(run.id, tags, []);
      return run.id;
    };
    return {
      e2e: make('baseline', 'e2e', [], [0.5, 0.9, 0.8], 3000),
      infopro: make('InfoPro k4', 'infopro', [[0, 0], [1, 0], [2, 0]], [0.6, 0.7], 1000, ['paper']),
      dgl: make('DGL k2 50%_done', 'dgl', [[1, 0]], [], null, ['paper', 'draft']),
    };
  }

  it('keeps each run\'s results on its row as metrics arrive, and forgets them when the run starts over', () => {
    const store = Store.open(path.join(tmp(), 'studio.sqlite'));
    const ids = fill(store);
    expect(store.runs.get(ids.e2e).summary).toMatchObject({ method: 'e2e', depth: 8, dataset: 'mnist', modules: 1, bestTestAccuracy: 0.9, finalTestAccuracy: 0.8, epochs: 3, peakBytes: 3000 });
    expect(store.runs.get(ids.infopro).summary).toMatchObject({ modules: 4, bestTestAccuracy: 0.7, finalTestAccuracy: 0.7, peakBytes: 1000 });
    // A resumed run re-reporting epoch 3 replaces the point and the summary follows.
    store.metrics.record([{ runId: ids.e2e, metrics: [{ scope: 'epoch', key: 'test_acc', step: 3, value: 0.95, at: 9 }] }]);
    expect(store.runs.get(ids.e2e).summary).toMatchObject({ bestTestAccuracy: 0.95, finalTestAccuracy: 0.95 });
    store.metrics.clear(ids.e2e);
    expect(store.runs.get(ids.e2e).summary).toMatchObject({ bestTestAccuracy: null, finalTestAccuracy: null, peakBytes: null });
    store.close();
  });

  it('sorts by any column with runs without a result last, filters by status, method, tags and words, and pages', () => {
    const store = Store.open(path.join(tmp(), 'studio.sqlite'));
    const ids = fill(store);
    const names = (query: Partial<Parameters<Store['runs']['list']>[0]>) => store.runs.list({ limit: 10, offset: 0, ...query }).runs.map((r) => r.name);
    expect(names({ sort: 'best', descending: true })).toEqual(['baseline', 'InfoPro k4', 'DGL k2 50%_done', 'infopro-k4']);
    expect(names({ sort: 'best' })).toEqual(['InfoPro k4', 'baseline', 'infopro-k4', 'DGL k2 50%_done']);
    expect(names({ sort: 'peak' })).toEqual(['InfoPro k4', 'baseline', 'infopro-k4', 'DGL k2 50%_done']);
    expect(names({ sort: 'modules', descending: true })[0]).toBe('InfoPro k4');
    expect(names({ methods: ['dgl', 'e2e'], sort: 'name' })).toEqual(['baseline', 'DGL k2 50%_done']);
    expect(names({ tags: ['paper', 'draft'] })).toEqual(['DGL k2 50%_done']);
    expect(names({ text: 'k4 INFOPRO', sort: 'name' })).toEqual(['InfoPro k4', 'infopro-k4']);
    // LIKE wildcards in the words are taken literally.
    expect(names({ text: '50%_' })).toEqual(['DGL k2 50%_done']);
    expect(names({ text: 'draft' })).toEqual(['DGL k2 50%_done']);
    store.runs.setStatus(ids.dgl, 'failed', 'x');
    expect(names({ statuses: ['failed', 'done'] })).toEqual(['DGL k2 50%_done']);
    const page = store.runs.list({ limit: 2, offset: 2, sort: 'name' });
    expect(page.total).toBe(4);
    expect(page.runs.map((r) => r.name)).toEqual(['InfoPro k4', 'infopro-k4']);
    store.close();
  });
});
