/**
 * Super-resolution as a job kind (issue 16): settings refused naming the field with nothing
 * stored; a tiny EDSR trained by GLCAN in a real job worker on real photographs into a real
 * SQLite file (loss per module per step, PSNR-Y/SSIM-Y per epoch in the run's summary, measured
 * memory, the low-res / output / high-res preview, the weights, the checkpoint dropped); and a
 * run cancelled mid-way, resumed by the job manager, ends with the exact weights of an
 * uninterrupted one.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exportSrRun } from '../../../main/api/task-runs';
import { loadExportedModel } from '../../../main/engine/export/tfjs-export';
import { readSrCard } from '../../../main/engine/export/sr-export';
import { DatasetCatalog } from '../../../main/data/catalog';
import { decodeImage } from '../../../main/data/image-codec';
import { selectBackend } from '../../../main/engine/backend/select';
import { evaluateSr } from '../../../main/engine/tasks/super-resolution/sr-trainer';
import { readPhotos } from '../../../main/engine/tasks/super-resolution/sr-data';
import { runDir } from '../../../main/engine/train/run-config';
import { JobManager } from '../../../main/jobs/job-manager';
import { readSrPreview } from '../../../main/jobs/sr-preview';
import { evaluationPairs, hasSrCheckpoint, loadSrModel, SR_WEIGHTS_FILE } from '../../../main/jobs/super-resolution-run';
import { Store } from '../../../main/store';
import { srPreview as srPreviewSchema } from '../../../shared/api/schemas';
import { makePhotoFolder } from '../../helpers/photo-folder';
import { useTempDir } from '../../helpers/temp';

const TINY = { scale: 2, features: 8, blocks: 3, method: 'glcan', cuts: [0, 1], epochs: 2, stepsPerEpoch: 3, batchSize: 2, patch: 12, trainImages: 4, evalCrop: 16, lr: 1e-3, backend: 'wasm' };

describe('super-resolution jobs', () => {
  const tmp = useTempDir();
  const managers: JobManager[] = [];
  const stores: Store[] = [];
  afterEach(async () => {
    for (const jobs of managers.splice(0)) await jobs.close();
    for (const store of stores.splice(0)) store.close();
  });
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  async function setUp() {
    const store = Store.open(path.join(tmp(), 'studio.sqlite'));
    stores.push(store);
    const project = store.projects.create({ name: 'p' });
    const experimentId = store.projects.createExperiment({ projectId: project.id, name: 'e', kind: 'super-resolution' }).id;
    const datasets = new DatasetCatalog(store);
    const photos = await datasets.import({ path: makePhotoFolder(path.join(tmp(), 'folder'), 48), name: 'photos' });
    const jobs = new JobManager({ store, datasets, cancelGraceMs: 60_000 });
    managers.push(jobs);
    return { store, jobs, experimentId, dataset: photos.id, folder: path.join(tmp(), 'folder', 'photos') };
  }

  it('refuses bad settings naming the field, and stores nothing', async () => {
    const { store, jobs, experimentId, dataset } = await setUp();
    const submit = (config: object) => () => jobs.submit({ experimentId, name: 'bad', kind: 'super-resolution', config: { ...TINY, dataset, ...config } });
    expect(submit({ scale: 5 })).toThrow(/Invalid super-resolution settings: scale: must be 2, 3 or 4.*Nothing was changed/);
    expect(submit({ method: 'local', cuts: [] })).toThrow(/cuts: local needs at least one cut/);
    expect(submit({ cuts: [0, 3] })).toThrow(/cuts\.1: cut 3 does not exist: the net has 3 residual blocks/);
    expect(submit({ method: 'e2e' })).toThrow(/cuts: end-to-end training has no cuts/);
    expect(submit({ dataset: 'mnist' })).toThrow(/dataset: MNIST.* super-resolution trains on photographs/);
    expect(submit({ dataset: 'nothing-here' })).toThrow(/dataset: .*Choose an image folder/);
    expect(submit({ patch: 40 })).toThrow(/patch: .*sample\d\.png is 48x48, smaller than one 40 px low-res patch at x2 \(80 px\)/);
    expect(submit({ heads: 2 })).toThrow(/unknown field\(s\) "heads"/);
    expect(submit({ trainImages: 0 })).toThrow(/trainImages: /);
    expect(store.runs.list({ limit: 10, offset: 0 }).runs).toEqual([]);
    expect(fs.existsSync(runDir(store.path, 1))).toBe(false);
  });

  it('trains GLCAN in a job worker: losses per module and step, PSNR/SSIM per epoch in the summary, memory, preview and weights', async () => {
    const { store, jobs, experimentId, dataset, folder } = await setUp();
    const progress: string[] = [];
    jobs.subscribe((u) => {
      if (u.type === 'event' && u.event.type === 'progress') progress.push(`${u.event.progress.epoch}:${u.event.progress.step}:${Number.isFinite(u.event.progress.etaSeconds)}`);
    });
    const run = jobs.submit({ experimentId, name: 'sr', kind: 'super-resolution', config: { ...TINY, dataset } });
    expect(run.summary).toMatchObject({ method: 'glcan', dataset, modules: 3 });
    const { run: done } = await jobs.wait(run.id);
    expect(done.status).toBe('done');
    expect(progress).toEqual(['1:1:true', '1:2:true', '1:3:true', '2:1:true', '2:2:true', '2:3:true']);
    const steps = Object.fromEntries(store.metrics.series(run.id, 'step').map((s) => [s.key, s.steps]));
    expect(steps).toEqual({ 'loss/m0': [1, 2, 3, 4, 5, 6], 'loss/m1': [1, 2, 3, 4, 5, 6], 'loss/m2': [1, 2, 3, 4, 5, 6] });
    const epochs = Object.fromEntries(store.metrics.series(run.id, 'epoch').map((s) => [s.key, s.values]));
    expect(epochs.test_psnr).toHaveLength(2);
    expect(epochs.test_ssim).toHaveLength(2);
    expect(done.summary.psnr).toBe(epochs.test_psnr![1]);
    expect(done.summary.ssim).toBe(epochs.test_ssim![1]);
    expect(done.summary.epochs).toBe(2);
    // A net a few steps old is far from perfect but not noise: PSNR between 10 and 40 dB.
    expect(done.summary.psnr!).toBeGreaterThan(10);
    expect(done.summary.psnr!).toBeLessThan(40);
    const memory = store.metrics.memory(run.id);
    expect(memory.filter((m) => m.module === null)).toHaveLength(1);
    expect(memory.filter((m) => m.module !== null).map((m) => m.module)).toEqual([0, 1, 2]);

    const dir = runDir(store.path, run.id);
    const preview = readSrPreview(dir)!;
    expect(srPreviewSchema.safeParse(preview).success).toBe(true); // what the contract promises the renderer
    expect(preview.epoch).toBe(2);
    expect(preview.images.map((i) => [i.part, i.width, i.height])).toEqual([['lr', 16, 16], ['sr', 32, 32], ['hr', 32, 32]]);
    const hr = decodeImage(Buffer.from(preview.images[2]!.dataUrl.split(',')[1]!, 'base64'));
    expect([hr.width, hr.height]).toEqual([32, 32]);

    // The saved weights score what the run recorded, on the same test crop (whichever photo the folder's seeded split holds out).
    expect(fs.existsSync(path.join(dir, SR_WEIGHTS_FILE))).toBe(true);
    expect(hasSrCheckpoint(dir)).toBe(false);
    const test = fs.readdirSync(folder).map((f) => path.join(folder, f));
    const model = loadSrModel(dir);
    const scores = test.map((file) => evaluateSr(model, evaluationPairs(readPhotos([file]), { scale: 2, evalCrop: 16 })).psnr);
    model.dispose();
    expect(scores.some((psnr) => Math.abs(psnr - done.summary.psnr!) < 1e-9)).toBe(true);
    expect(store.metrics.artifacts(run.id).map((a) => a.kind)).toEqual(['sr-weights']);

    // Exported as a stock TF.js layers model: loaded back without this code, it computes what the net does.
    const out = path.join(tmp(), 'export');
    const exported = await exportSrRun({ store, datasets: new DatasetCatalog(store) }, run.id, out, 20);
    expect(exported.dropped).toEqual(['auxiliary networks (training only)']);
    expect(exported.psnr).toBe(done.summary.psnr);
    const card = readSrCard(out);
    expect(card).toMatchObject({ task: 'super-resolution', net: 'edsr', scale: 2, features: 8, blocks: 3, inputShape: [20, 20, 3], outputShape: [40, 40, 3], method: 'glcan', cuts: [0, 1], runId: run.id });
    const loaded = await loadExportedModel(out);
    const net = loadSrModel(dir);
    const x = tf.randomUniform([2, 20, 20, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const [ours, theirs] = [net.forward(x), loaded.predict(x) as tf.Tensor];
    expect(theirs.shape).toEqual([2, 40, 40, 3]);
    expect(tf.max(tf.abs(tf.sub(ours, theirs))).dataSync()[0]).toBeLessThan(1e-5);
    tf.dispose([x, ours, theirs]);
    net.dispose();
    loaded.dispose();
    // Not into a folder in use, and not before the run has weights.
    await expect(exportSrRun({ store, datasets: new DatasetCatalog(store) }, run.id, out, 20)).rejects.toThrow(/not empty/);
  }, 120_000);

  it('cancelled in its second epoch and resumed: ends with the weights and scores of an uninterrupted run', async () => {
    const { store, jobs, experimentId, dataset } = await setUp();
    const whole = jobs.submit({ experimentId, name: 'whole', kind: 'super-resolution', config: { ...TINY, dataset } }).id;
    expect((await jobs.wait(whole)).run.status).toBe('done');

    const parts = jobs.submit({ experimentId, name: 'parts', kind: 'super-resolution', config: { ...TINY, dataset } }).id;
    let seen = 0;
    jobs.subscribe((u) => {
      if (u.runId === parts && u.type === 'event' && u.event.type === 'progress' && ++seen === 4) jobs.cancel(parts);
    });
    expect((await jobs.wait(parts)).run.status).toBe('cancelled');
    expect(hasSrCheckpoint(runDir(store.path, parts))).toBe(true);
    jobs.resume(parts);
    const done = (await jobs.wait(parts)).run;
    expect(done.status).toBe('done');
    expect(done.summary.psnr).toBe(store.runs.get(whole).summary.psnr);
    const bin = (id: number) => fs.readFileSync(path.join(runDir(store.path, id), SR_WEIGHTS_FILE));
    expect(Buffer.compare(bin(parts), bin(whole))).toBe(0);
  }, 180_000);
});
