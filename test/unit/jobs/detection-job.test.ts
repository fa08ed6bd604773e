/**
 * Detection as a job kind (issue 16): settings refused naming the field with nothing stored; a
 * tiny detector trained by GLCAN on the built-in MNIST-on-canvas set in a real job worker into a
 * real SQLite file (loss per module per step, mAP per epoch in the run's summary, measured
 * memory per module, the preview of predicted boxes, the weights, the checkpoint dropped); and a
 * run cancelled mid-way and resumed by the job manager ends with the exact weights of an
 * uninterrupted one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../main/engine/backend/select';
import * as tf from '@tensorflow/tfjs-core';
import { exportDetRun, runPreview } from '../../../main/api/task-runs';
import { readDetCard } from '../../../main/engine/export/det-export';
import { loadExportedModel } from '../../../main/engine/export/tfjs-export';
import { DatasetCatalog } from '../../../main/data/catalog';
import { buildMnistDetectionSet } from '../../../main/engine/tasks/detection/det-data';
import { evaluateDetection } from '../../../main/engine/tasks/detection/det-trainer';
import { runDir } from '../../../main/engine/train/run-config';
import { canvasOptionsOf, DET_WEIGHTS_FILE, hasDetCheckpoint, loadDetModel } from '../../../main/jobs/detection-run';
import { detectionSettings } from '../../../shared/engine/tasks';
import { JobManager } from '../../../main/jobs/job-manager';
import { Store } from '../../../main/store';
import { encodePng } from '../../../main/speak/corpus/png';
import { useTempDir } from '../../helpers/temp';

const TINY = { canvas: { size: 32, train: 16, test: 6, seed: 3 }, widths: [4, 4, 4, 4], fpn: 4, towerConvs: 1, method: 'glcan', cuts: [1], epochs: 2, stepsPerEpoch: 2, batchSize: 4, evalImages: 6, lr: 1e-3, backend: 'wasm' };

describe('detection jobs', () => {
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

  function setUp() {
    const store = Store.open(path.join(tmp(), 'studio.sqlite'));
    stores.push(store);
    const project = store.projects.create({ name: 'p' });
    const experimentId = store.projects.createExperiment({ projectId: project.id, name: 'e', kind: 'detection' }).id;
    const jobs = new JobManager({ store, datasets: new DatasetCatalog(store), cancelGraceMs: 60_000 });
    managers.push(jobs);
    return { store, jobs, experimentId };
  }

  it('refuses bad settings naming the field, and stores nothing', () => {
    const { store, jobs, experimentId } = setUp();
    const submit = (config: object) => () => jobs.submit({ experimentId, name: 'bad', kind: 'detection', config: { ...TINY, ...config } });
    expect(submit({ method: 'local', cuts: [] })).toThrow(/Invalid detection settings: cuts: local needs at least one cut.*Nothing was changed/);
    expect(submit({ cuts: [4] })).toThrow(/cuts\.0: cut 4 does not exist: the backbone has 4 blocks/);
    expect(submit({ batchSize: 32 })).toThrow(/batchSize: a batch of 32 needs at least that many training canvases/);
    expect(submit({ evalImages: 7 })).toThrow(/evalImages: only 6 test canvases exist/);
    expect(submit({ canvas: { size: 16 } })).toThrow(/canvas\.size: /);
    expect(submit({ dataset: 'yolo' })).toThrow(/dataset: must be "mnist-canvas"/);
    expect(submit({ folder: { path: '/data/coco' } })).toThrow(/folder: the built-in canvases read no folder/);
    expect(store.runs.list({ limit: 10, offset: 0 }).runs).toEqual([]);
    expect(fs.existsSync(runDir(store.path, 1))).toBe(false);
  });

  it('trains GLCAN in a job worker: losses per module and step, mAP per epoch in the summary, memory per module, preview and weights', async () => {
    const { store, jobs, experimentId } = setUp();
    const run = jobs.submit({ experimentId, name: 'det', kind: 'detection', config: TINY });
    expect(run.summary).toMatchObject({ method: 'glcan', dataset: 'mnist-canvas', modules: 2 });
    const { run: done } = await jobs.wait(run.id);
    expect(done.status, done.error ?? '').toBe('done');
    const steps = Object.fromEntries(store.metrics.series(run.id, 'step').map((s) => [s.key, s.steps]));
    expect(steps).toEqual({ 'loss/m0': [1, 2, 3, 4], 'loss/m1': [1, 2, 3, 4] });
    const epochs = Object.fromEntries(store.metrics.series(run.id, 'epoch').map((s) => [s.key, s.values]));
    expect(epochs.test_map).toHaveLength(2);
    expect(done.summary.map).toBe(epochs.test_map![1]);
    expect(done.summary.map50).toBe(epochs.test_map50![1]);
    expect(done.summary.map50!).toBeGreaterThanOrEqual(done.summary.map!);
    expect(done.summary.psnr).toBeNull();
    expect(store.metrics.memory(run.id).map((m) => m.module)).toEqual([null, 0, 1]);

    const preview = runPreview(store, run.id)!;
    expect(preview.task).toBe('detection');
    if (preview.task !== 'detection') return;
    expect(preview.epoch).toBe(2);
    expect(preview.images).toHaveLength(4);
    // The true boxes are the set's own (the same seeded canvases), named by digit.
    const set = await buildMnistDetectionSet(canvasOptionsOf(detectionSettings.parse(TINY)));
    expect(canvasOptionsOf(detectionSettings.parse(TINY)).digitSize).toEqual([7, 18]);
    expect(preview.images.map((i) => i.truth.map((b) => [b.x1, b.y1, b.x2, b.y2, Number(b.label)]))).toEqual(set.test.slice(0, 4).map((s) => s.boxes.map((b) => [b.x1, b.y1, b.x2, b.y2, b.label])));
    expect(preview.images.every((i) => i.predicted.every((p) => p.score >= preview.scoreThreshold))).toBe(true);

    // The saved weights score what the run recorded.
    const dir = runDir(store.path, run.id);
    expect(hasDetCheckpoint(dir)).toBe(false);
    const model = loadDetModel(dir);
    expect(evaluateDetection(model, set.test).map).toBeCloseTo(done.summary.map!, 12);
    expect(store.metrics.artifacts(run.id).map((a) => a.kind)).toEqual(['det-weights']);

    // Exported as a stock TF.js layers model: loaded back without this code, its raw predictions are the net's
    // (class and centerness logits as they are, box distances once decoded as the card says).
    const out = path.join(tmp(), 'export');
    const exported = await exportDetRun({ store }, run.id, out);
    expect(exported.map).toBe(done.summary.map);
    const card = readDetCard(out);
    expect(card).toMatchObject({ task: 'detection', inputShape: [32, 32, 1], outputShape: [21, 15], method: 'glcan', cuts: [1], dropped: ['auxiliary networks (training only)'] });
    expect(card.decoding.levels.map((l) => [l.stride, l.side])).toEqual([[8, 4], [16, 2], [32, 1]]);
    const loaded = await loadExportedModel(out);
    const x = tf.randomUniform([2, 32, 32, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const ours = model.forward(x, false);
    const theirs = loaded.predict(x) as tf.Tensor3D;
    const strides = tf.tensor(card.decoding.levels.flatMap((l) => Array<number>(l.locations).fill(l.stride)), [1, 21, 1]);
    const cls = tf.slice(theirs, [0, 0, 0], [-1, -1, 10]);
    const reg = tf.mul(tf.exp(tf.clipByValue(tf.slice(theirs, [0, 0, 10], [-1, -1, 4]), -8, 8)), strides);
    const ctr = tf.reshape(tf.slice(theirs, [0, 0, 14], [-1, -1, 1]), [2, 21]);
    const gap = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
    expect(gap(cls, ours.cls)).toBeLessThan(1e-4);
    expect(gap(ctr, ours.ctr)).toBeLessThan(1e-4);
    expect(gap(reg, ours.reg) / Math.max(1, tf.max(ours.reg).dataSync()[0]!)).toBeLessThan(1e-4);
    tf.dispose([x, ours.cls, ours.reg, ours.ctr, theirs, strides, cls, reg, ctr]);
    loaded.dispose();
    model.dispose();
  }, 120_000);

  it('trains on a COCO folder (read when submitted, nothing registered): boxes named by its classes, exported with them; a bad annotation file is refused by name', async () => {
    const { store, jobs, experimentId } = setUp();
    // Six 40 px images, each with a bright square (class "square") or a wide bar (class "bar") on black.
    const dir = path.join(tmp(), 'coco');
    fs.mkdirSync(dir, { recursive: true });
    const images = [];
    const annotations = [];
    for (let i = 0; i < 6; i++) {
      const rgb = new Uint8Array(40 * 40 * 3);
      const [x, y, w, h, category] = i % 2 ? [4 + i, 6, 24, 8, 2] : [8, 4 + i, 16, 16, 1];
      for (let r = y; r < y + h; r++) for (let c = x; c < x + w; c++) rgb.fill(230, (r * 40 + c) * 3, (r * 40 + c) * 3 + 3);
      fs.writeFileSync(path.join(dir, `img${i}.png`), encodePng(rgb, 40, 40));
      images.push({ id: i + 1, file_name: `img${i}.png`, width: 40, height: 40 });
      annotations.push({ image_id: i + 1, category_id: category, bbox: [x, y, w, h] });
    }
    const file = path.join(dir, 'annotations.json');
    fs.writeFileSync(file, JSON.stringify({ images, annotations, categories: [{ id: 1, name: 'square' }, { id: 2, name: 'bar' }] }));
    const config = { dataset: 'coco', folder: { path: dir, size: 32, testFraction: 0.34, seed: 1 }, widths: [4, 4, 4, 4], fpn: 4, towerConvs: 1, method: 'local', cuts: [1], epochs: 1, stepsPerEpoch: 2, batchSize: 2, evalImages: 2, lr: 1e-3, backend: 'wasm' };

    expect(() => jobs.submit({ experimentId, name: 'bad', kind: 'detection', config: { ...config, batchSize: 5 } })).toThrow(/batchSize: a batch of 5 needs at least that many training images \(the folder gives 4\)/);
    expect(() => jobs.submit({ experimentId, name: 'bad', kind: 'detection', config: { ...config, dataset: 'voc' } })).toThrow(/folder: .*coco: has no Annotations folder/);
    expect(() => jobs.submit({ experimentId, name: 'bad', kind: 'detection', config: { ...config, folder: undefined } })).toThrow(/folder: a COCO data set needs folder\.path/);
    expect(store.runs.list({ limit: 10, offset: 0 }).total).toBe(0);

    const run = jobs.submit({ experimentId, name: 'coco', kind: 'detection', config });
    expect(run.summary.dataset).toBe('coco');
    const { run: done } = await jobs.wait(run.id);
    expect(done.status, done.error ?? '').toBe('done');
    const preview = runPreview(store, run.id)!;
    if (preview.task !== 'detection') throw new Error('not a detection preview');
    expect(preview.images).toHaveLength(2); // the folder's two test images
    expect(preview.images.flatMap((i) => i.truth.map((b) => b.label)).every((l) => l === 'square' || l === 'bar')).toBe(true);
    expect(preview.images[0]!.width).toBe(32);
    const out = path.join(tmp(), 'coco-model');
    await exportDetRun({ store }, run.id, out);
    expect(readDetCard(out)).toMatchObject({ classNames: ['square', 'bar'], inputShape: [32, 32, 3], outputShape: [21, 7] });

    // A damaged annotation file is refused, naming it, and stores nothing more.
    fs.writeFileSync(file, '{"images": [');
    expect(() => jobs.submit({ experimentId, name: 'broken', kind: 'detection', config })).toThrow(new RegExp(`folder: ${file.replace(/[.\\/]/g, '\\$&')}: is not valid JSON`));
    expect(store.runs.list({ limit: 10, offset: 0 }).total).toBe(1);
  }, 120_000);

  it('cancelled after its first epoch and resumed: ends with the weights of an uninterrupted run', async () => {
    const { store, jobs, experimentId } = setUp();
    // Three epochs: the cancel, sent at the second epoch's first step, lands with steps to spare (the worker does not wait for it).
    const config = { ...TINY, epochs: 3 };
    const whole = jobs.submit({ experimentId, name: 'whole', kind: 'detection', config }).id;
    expect((await jobs.wait(whole)).run.status).toBe('done');
    const parts = jobs.submit({ experimentId, name: 'parts', kind: 'detection', config }).id;
    let seen = 0;
    jobs.subscribe((u) => {
      if (u.runId === parts && u.type === 'event' && u.event.type === 'progress' && ++seen === 3) jobs.cancel(parts);
    });
    expect((await jobs.wait(parts)).run.status).toBe('cancelled');
    expect(hasDetCheckpoint(runDir(store.path, parts))).toBe(true);
    jobs.resume(parts);
    expect((await jobs.wait(parts)).run.status).toBe('done');
    const bin = (id: number) => fs.readFileSync(path.join(runDir(store.path, id), DET_WEIGHTS_FILE));
    expect(Buffer.compare(bin(parts), bin(whole))).toBe(0);
    expect(store.runs.get(parts).summary.map).toBe(store.runs.get(whole).summary.map);
  }, 180_000);
});
