import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { OPERATION_NAMES, operations } from '../../../shared/api/contract';
import { runDir } from '../../../main/engine/train/run-config';
import { createStudio } from '../../../main/studio';
import type { Run } from '../../../shared/api/schemas';
import { useTempDir } from '../../helpers/temp';

describe('contract dispatch', () => {
  const tmp = useTempDir();
  const studio = () => createStudio({ host: 'web', dbPath: path.join(tmp(), 'studio.sqlite') });

  it('names every operation domain:verb with a summary', () => {
    for (const name of OPERATION_NAMES) {
      expect(name).toMatch(/^[a-z]+:[a-z][a-zA-Z]+$/);
      expect(operations[name].summary.length).toBeGreaterThan(10);
    }
  });

  it('runs a valid call, applying defaults and trimming names', async () => {
    const s = studio();
    const created = await s.dispatch('projects:create', { name: '  MNIST study  ' });
    expect(created).toMatchObject({ ok: true, result: { name: 'MNIST study', description: '', experimentCount: 0 } });
    const listed = await s.dispatch('projects:list', {});
    expect(listed).toMatchObject({ ok: true, result: [{ name: 'MNIST study' }] });
    await s.close();
  });

  it.each([
    ['an empty name', { name: '   ' }, 'name: must not be empty'],
    ['a wrong type', { name: 42 }, 'name: Invalid input: expected string, received number'],
    ['an unknown field', { name: 'ok', colour: 'red' }, 'unknown field(s) "colour"'],
    ['a control character', { name: 'a\u0007b' }, 'must not contain control characters'],
    ['a non-object', 'hello', 'expected object'],
  ])('rejects %s with a clear message and writes nothing', async (_label, input, message) => {
    const s = studio();
    const result = await s.dispatch('projects:create', input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('bad_request');
    expect(result.error.message).toContain(message);
    expect(result.error.message).toContain('Nothing was changed');
    expect(s.store.projects.list()).toEqual([]);
    await s.close();
  });

  it('reports unknown operations and missing records as such', async () => {
    const s = studio();
    const unknown = await s.dispatch('projects:drop', {});
    expect(unknown).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(JSON.stringify(unknown)).toContain('Known operations: app:info');
    expect(await s.dispatch('runs:get', { id: 5 })).toMatchObject({ ok: false, error: { code: 'not_found', message: 'No run with id 5.' } });
    expect(await s.dispatch('experiments:create', { projectId: 3, name: 'x' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    await s.close();
  });

  it('turns an unexpected failure into an internal error, logged with its stack, without throwing', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const s = studio();
    s.store.close();
    const result = await s.dispatch('projects:list', {});
    expect(result).toMatchObject({ ok: false, error: { code: 'internal', message: expect.stringContaining('database connection is not open') } });
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/^\[dispatch\] projects:list failed: TypeError/));
    log.mockRestore();
  });

  it('pushes events to subscribers after a change, and stops after unsubscribe', async () => {
    const s = studio();
    const seen: string[] = [];
    const stop = s.subscribe((e) => seen.push(e.name));
    await s.dispatch('projects:create', { name: 'a' });
    stop();
    await s.dispatch('projects:create', { name: 'b' });
    expect(seen).toEqual(['projects:changed']);
    await s.close();
  });

  it('keeps a call successful when an event subscriber throws', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    const s = studio();
    s.subscribe(() => {
      throw new Error('window gone');
    });
    expect(await s.dispatch('projects:create', { name: 'still saved' })).toMatchObject({ ok: true });
    expect(s.store.projects.list().map((p) => p.name)).toEqual(['still saved']);
    expect(log).toHaveBeenCalledWith(expect.stringContaining('window gone'));
    log.mockRestore();
    await s.close();
  });

  it('validates tags and notes on runs', async () => {
    const s = studio();
    const p = s.store.projects.create({ name: 'p' });
    const e = s.store.projects.createExperiment({ projectId: p.id, name: 'e', kind: 'local-learning' });
    const r = s.store.runs.create({ experimentId: e.id, name: 'r', kind: 'local-learning', config: {} });
    expect(await s.dispatch('runs:tag', { id: r.id, add: ['has space'] })).toMatchObject({ ok: false, error: { code: 'bad_request', issues: [{ path: 'add.0' }] } });
    expect(await s.dispatch('runs:tag', { id: r.id, add: ['k4', 'seed:1'] })).toMatchObject({ ok: true, result: { tags: ['k4', 'seed:1'] } });
    expect(await s.dispatch('runs:update', { id: r.id, notes: 'x'.repeat(20_001) })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(s.store.runs.get(r.id).notes).toBe('');
    await s.close();
  });

  it('queues a training run through the contract: wrong settings create nothing, a valid run trains in a worker and pushes its progress', async () => {
    const s = studio();
    const seen: { name: string; runId?: number }[] = [];
    s.subscribe((e) => seen.push({ name: e.name, ...('runId' in e.payload ? { runId: e.payload.runId } : {}) }));
    const project = s.store.projects.create({ name: 'p' });
    const { id: experimentId } = s.store.projects.createExperiment({ projectId: project.id, name: 'e', kind: 'local-learning' });
    const bad = await s.dispatch('runs:start', { experimentId, name: 'bad', config: { method: 'backprop-free' } });
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringContaining('Invalid training settings: method:') } });
    expect(s.store.runs.list({ limit: 5, offset: 0 }).total).toBe(0);

    const config = { method: 'greedy', split: 'per-block', epochs: 1, batchSize: 32, trainLimit: 64, testLimit: 64, backend: 'wasm' };
    const started = await s.dispatch('runs:start', { experimentId, name: 'greedy', config });
    if (!started.ok) throw new Error(started.error.message);
    const run = started.result as Run;
    expect(await s.dispatch('jobs:status', {})).toMatchObject({ ok: true, result: { concurrency: 1, running: [run.id], queued: [] } });
    const outcome = await s.jobs.wait(run.id);
    expect(outcome.run.status).toBe('done');
    expect(seen.filter((e) => e.name === 'runs:progress' && e.runId === run.id)).toHaveLength(2);
    expect(seen.filter((e) => e.name === 'runs:changed' && e.runId === run.id).length).toBeGreaterThanOrEqual(3);
    expect(await s.dispatch('runs:cancel', { id: run.id })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    const compared = await s.dispatch('runs:compare', { ids: [run.id] });
    expect(compared).toMatchObject({ ok: true, result: [{ run: { id: run.id, summary: { method: 'greedy', modules: 3, epochs: 1 } }, loss: { key: 'loss/m2', steps: [1, 2] }, memory: expect.any(Array) }] });

    // Launch again with the same settings; a queued or running run cannot be deleted.
    const again = await s.dispatch('runs:relaunch', { id: run.id });
    if (!again.ok) throw new Error(again.error.message);
    const second = again.result as Run;
    expect(second).toMatchObject({ name: 'greedy (again)', config: { method: 'greedy', cuts: run.config.cuts, seed: 0 } });
    expect(await s.dispatch('runs:delete', { ids: [run.id, second.id] })).toMatchObject({ ok: false, error: { code: 'conflict', message: expect.stringContaining('cancel before deleting. Nothing was deleted.') } });
    await s.dispatch('runs:cancel', { id: second.id });
    await s.jobs.wait(second.id);
    expect(await s.dispatch('runs:delete', { ids: [run.id, second.id] })).toEqual({ ok: true, result: { deleted: 2 } });
    expect(s.store.runs.list({ limit: 5, offset: 0 }).total).toBe(0);
    expect(fs.existsSync(runDir(s.store.path, run.id))).toBe(false);

    expect(await s.dispatch('jobs:configure', { concurrency: 0 })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await s.dispatch('jobs:configure', { concurrency: 2 })).toMatchObject({ ok: true, result: { concurrency: 2 } });
    await s.close();
  }, 120_000);

  it('launches a talking-head run again with its own settings (not read as local-learning ones)', async () => {
    const s = studio();
    const project = (await s.dispatch('projects:create', { name: 'p' })) as { ok: true; result: { id: number } };
    const experiment = (await s.dispatch('experiments:create', { projectId: project.result.id, name: 'e' })) as { ok: true; result: { id: number } };
    const config = { size: 64, seed: 3, steps: { syncnet: 0, irfd: 1, generator: 0 }, data: { source: 'procedural', identities: 1, maxFrames: 2 } };
    const started = await s.dispatch('runs:start', { experimentId: experiment.result.id, name: 'head', kind: 'talking-head', config });
    if (!started.ok) throw new Error(started.error.message);
    const first = started.result as Run;
    await s.dispatch('runs:cancel', { id: first.id });
    await s.jobs.wait(first.id);
    const again = await s.dispatch('runs:relaunch', { id: first.id });
    if (!again.ok) throw new Error(again.error.message);
    const second = again.result as Run;
    expect(second).toMatchObject({ kind: 'talking-head', name: 'head (again)', config: { size: 64, seed: 3, steps: { irfd: 1 } } });
    expect(second.config).toEqual(first.config);
    await s.dispatch('runs:cancel', { id: second.id });
    await s.jobs.wait(second.id);
    await s.close();
  }, 120_000);

  it('measures one real training step of a split and of end-to-end in a worker, and refuses an impossible split', async () => {
    const s = studio();
    const request = { depth: 8, cuts: [[0, 0], [1, 0], [2, 0]], method: 'infopro', dataset: 'mnist', batchSize: 16 };
    const measured = await s.dispatch('splits:measure', request);
    if (!measured.ok) throw new Error(measured.error.message);
    const result = measured.result as { backend: string; peakBytes: number; modulePeakBytes: number[]; endToEndPeakBytes: number };
    expect(result.modulePeakBytes).toHaveLength(4);
    expect(result.modulePeakBytes.every((bytes) => bytes > 0 && bytes <= result.peakBytes)).toBe(true);
    expect(result.endToEndPeakBytes).toBeGreaterThan(0);
    // Twice the batch, more memory: it is measured, not looked up.
    const larger = await s.dispatch('splits:measure', { ...request, batchSize: 32 });
    expect(larger.ok && (larger.result as typeof result).endToEndPeakBytes).toBeGreaterThan(result.endToEndPeakBytes);
    expect(await s.dispatch('splits:measure', { ...request, cuts: [[3, 0]] })).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringContaining('Cut [3, 0] is the end of the network') } });
    await s.close();
  }, 120_000);
});
