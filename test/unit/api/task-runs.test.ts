/**
 * The contract's task operations through the one dispatcher both hosts use (issue 16): a
 * detection run trained through runs:start, its preview by runs:preview, and the refusals that
 * name what is wrong and change nothing (a preview of a classification run, an input size
 * for a detector or a classifier, an evaluation of a task run).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStudio } from '../../../main/studio';
import { operations } from '../../../shared/api/contract';
import { useTempDir } from '../../helpers/temp';

const TINY_DET = { canvas: { size: 32, train: 8, test: 4, seed: 2 }, widths: [4, 4, 4, 4], fpn: 4, towerConvs: 0, method: 'local', cuts: [1], epochs: 1, stepsPerEpoch: 1, batchSize: 4, evalImages: 4, backend: 'wasm' };

describe('task runs through the contract', () => {
  const tmp = useTempDir();

  it('queues a detection run, answers its preview, and refuses what does not apply to its kind', async () => {
    const s = createStudio({ host: 'web', dbPath: path.join(tmp(), 'studio.sqlite') });
    try {
      const call = async (name: string, input: object) => s.dispatch(name, input);
      const project = (await call('projects:create', { name: 'p' })) as { ok: true; result: { id: number } };
      const experiment = (await call('experiments:create', { projectId: project.result.id, name: 'det', kind: 'detection' })) as { ok: true; result: { id: number } };
      const experimentId = experiment.result.id;

      // Refused before anything exists: the field is named.
      const bad = await call('runs:start', { experimentId, name: 'x', kind: 'detection', config: { ...TINY_DET, cuts: [] } });
      expect(bad).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      expect(JSON.stringify(bad)).toContain('cuts: local needs at least one cut');
      expect(s.store.runs.list({ limit: 10, offset: 0 }).total).toBe(0);

      const started = (await call('runs:start', { experimentId, name: 'det', kind: 'detection', config: TINY_DET })) as { ok: true; result: { id: number; kind: string } };
      expect(started.result.kind).toBe('detection');
      const id = started.result.id;
      const { run } = await s.jobs.wait(id);
      expect(run.status, run.error ?? '').toBe('done');

      const preview = (await call('runs:preview', { id })) as { ok: true; result: { task: string; epoch: number; images: { truth: unknown[] }[] } };
      expect(preview.result).toMatchObject({ task: 'detection', epoch: 1 });
      expect(preview.result.images).toHaveLength(4);
      // What the host sends is what the contract promises the renderer.
      expect(operations['runs:preview'].output.safeParse(preview.result).success).toBe(true);

      const exported = (await call('runs:export', { id, out: path.join(tmp(), 'model') })) as { ok: true; result: { files: { name: string }[]; dropped: string[] } };
      expect(exported.result.files.map((f) => f.name).sort()).toEqual(['card.json', 'group1-shard1of1.bin', 'model.json']);
      expect(exported.result.dropped).toEqual(['auxiliary networks (training only)']);
      expect(JSON.stringify(await call('runs:export', { id, out: path.join(tmp(), 'model2'), inputSize: 64 }))).toContain('inputSize applies to super-resolution models only');
      const evaluated = await call('runs:evaluate', { id });
      expect(JSON.stringify(evaluated)).toContain('this evaluation is for classifiers');

      // Launched again with its own settings (not read as classification ones), and found by its method.
      const again = (await call('runs:relaunch', { id })) as { ok: true; result: { id: number; kind: string; config: Record<string, unknown> } };
      expect(again.result.kind).toBe('detection');
      expect(again.result.config).toEqual(s.store.runs.get(id).config);
      await s.jobs.wait(again.result.id);
      const found = (await call('runs:list', { methods: ['local'] })) as { ok: true; result: { total: number } };
      expect(found.result.total).toBe(2);

      // A classification run has no preview, and its export takes no input size.
      const cls = s.store.runs.create({ experimentId, name: 'cls', kind: 'local-learning', config: { method: 'e2e' }, seed: 0 });
      expect(JSON.stringify(await call('runs:preview', { id: cls.id }))).toContain('previews belong to super-resolution runs');
      expect(JSON.stringify(await call('runs:export', { id: cls.id, out: path.join(tmp(), 'm2'), inputSize: 32 }))).toContain('inputSize applies to super-resolution models only');
    } finally {
      await s.close();
    }
  }, 120_000);

  it('measures one real step of a task split and of end-to-end in a worker, and refuses settings that cannot train', async () => {
    const s = createStudio({ host: 'web', dbPath: path.join(tmp(), 'studio.sqlite') });
    try {
      // EDSR F = 16, R = 8 cut into K = 4 with simple local heads, as the benchmark's: one step holds less than end-to-end's.
      const sr = (await s.dispatch('splits:measureTask', { kind: 'super-resolution', config: { features: 16, blocks: 8, method: 'local', cuts: [1, 3, 5], batchSize: 8, patch: 24, backend: 'wasm' } })) as { ok: true; result: { peakBytes: number; modulePeakBytes: number[]; endToEndPeakBytes: number } };
      expect(sr.ok).toBe(true);
      expect(sr.result.modulePeakBytes).toHaveLength(4);
      expect(sr.result.modulePeakBytes.every((b) => b > 0 && b <= sr.result.peakBytes)).toBe(true);
      expect(sr.result.peakBytes).toBeLessThan(sr.result.endToEndPeakBytes);
      const det = (await s.dispatch('splits:measureTask', { kind: 'detection', config: TINY_DET })) as { ok: true; result: { modulePeakBytes: number[] } };
      expect(det.result.modulePeakBytes).toHaveLength(2);
      const bad = await s.dispatch('splits:measureTask', { kind: 'super-resolution', config: { blocks: 2, method: 'glcan', cuts: [2] } });
      expect(JSON.stringify(bad)).toContain('cuts.0: cut 2 does not exist');
    } finally {
      await s.close();
    }
  }, 120_000);
});
