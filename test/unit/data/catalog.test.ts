/** The data set catalog through the contract, as the UI and the engine use it, on files in each real format. */
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { DatasetInfo, DatasetSamples } from '../../../shared/api/schemas';
import { iterateBatches } from '../../../main/data/batches';
import { createStudio, type StudioOptions } from '../../../main/studio';
import { patternSamples, writeCifar10, writeStl10, writeSvhn } from '../../helpers/dataset-files';
import { garblePngPixels, jpegBytes, makeImageFolder, pngBytes } from '../../helpers/image-files';
import { useTempDir } from '../../helpers/temp';

describe('data set catalog', () => {
  const tmp = useTempDir();
  const studio = (extra: Partial<StudioOptions> = {}) => createStudio({ host: 'web', dbPath: path.join(tmp(), 'studio.sqlite'), ...extra });
  const folder = (name: string) => {
    const dir = path.join(tmp(), name);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };

  const writers: Record<string, (dir: string) => void> = {
    cifar10: (dir) => writeCifar10(dir, { train: patternSamples(20, 32, 32), test: patternSamples(10, 32, 32, 10, 100) }),
    svhn: (dir) => writeSvhn(dir, { train: patternSamples(20, 32, 32), test: patternSamples(10, 32, 32, 10, 100) }, { compressed: true }),
    stl10: (dir) => writeStl10(dir, { train: patternSamples(10, 96, 96), test: patternSamples(10, 96, 96, 10, 100) }),
    imagefolder: (dir) => makeImageFolder(dir, { cat: [{}, {}, {}, {}, {}], dog: [{}, {}, {}, {}, {}] }),
  };

  it('lists the built-in MNIST first', async () => {
    const s = studio();
    const result = await s.dispatch('datasets:list', {});
    expect(result).toMatchObject({ ok: true, result: [{ id: 'mnist', builtIn: true, kind: 'mnist', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], path: null }] });
    s.close();
  });

  for (const kind of Object.keys(writers)) {
    it(`detects, imports and trains from ${kind} files`, async () => {
      const s = studio();
      const dir = folder(kind);
      writers[kind]!(dir);
      const preview = await s.dispatch('datasets:inspect', { path: dir });
      expect(preview).toMatchObject({ ok: true, result: { kind, path: dir } });
      const imported = await s.dispatch('datasets:import', { path: dir, name: `my ${kind}` });
      expect(imported.ok).toBe(true);
      const info = (imported as { result: DatasetInfo }).result;
      expect(info).toMatchObject({ id: expect.stringMatching(/^ds-\d+$/), name: `my ${kind}`, kind, builtIn: false });

      // The engine selects the set by id and gets normalised batches of the right shape.
      const dataset = await s.datasets.open(info.id);
      const batch = (await iterateBatches(dataset, 'train', { batchSize: 4, shuffle: true, seed: 1, epoch: 0, augment: true }).next()).value!;
      expect(batch.x.length).toBe(4 * info.shape.height * info.shape.width * info.shape.channels);
      expect([...batch.y].every((label) => label >= 0 && label < info.classes.length)).toBe(true);
      s.close();
    });
  }

  it('serves per-class samples as PNGs holding the reader\'s own pixels', async () => {
    const s = studio();
    const dir = folder('cifar');
    writers.cifar10!(dir);
    const { result: info } = (await s.dispatch('datasets:import', { path: dir, name: 'c' })) as { result: DatasetInfo };
    const { result: samples } = (await s.dispatch('datasets:samples', { id: info.id, split: 'train', perClass: 3 })) as { result: DatasetSamples };
    expect(samples.classes.map((c) => c.count)).toEqual(info.counts.train);
    expect(samples.classes.map((c) => c.images.length)).toEqual(info.counts.train.map((n) => Math.min(n, 3)));
    const png = PNG.sync.read(Buffer.from(samples.classes[0]!.images[0]!.split(',')[1]!, 'base64'));
    const dataset = await s.datasets.open(info.id);
    const first = dataset.splits.train.labels.indexOf(0);
    const pixels = await dataset.splits.train.read([first]);
    expect([png.width, png.height]).toEqual([32, 32]);
    for (const p of [0, 100, 1023]) expect([...png.data.subarray(p * 4, p * 4 + 3)]).toEqual([...pixels.subarray(p * 3, p * 3 + 3)]);
    s.close();
  });

  it('refuses a truncated file, naming it, and registers nothing', async () => {
    const s = studio();
    const dir = folder('cifar');
    writers.cifar10!(dir);
    const file = path.join(dir, 'data_batch_3.bin');
    fs.truncateSync(file, fs.statSync(file).size - 100);
    const result = await s.dispatch('datasets:import', { path: dir, name: 'broken' });
    expect(result).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    const message = (result as { error: { message: string } }).error.message;
    expect(message).toContain(file);
    expect(message).toContain('Nothing was imported');
    expect(s.store.datasets.list()).toEqual([]);
    s.close();
  });

  /** A small train/ + val/ image folder with every class in both splits. */
  const pets = (name = 'pets') => {
    const dir = folder(name);
    makeImageFolder(dir, { 'train/cat': [{}, {}], 'train/dog': [{}, {}], 'val/cat': [{}], 'val/dog': [{}] });
    return dir;
  };
  const failure = (result: unknown) => {
    expect(result).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    return (result as { error: { message: string } }).error.message;
  };

  it('decodes every image at import: a JPEG cut in half or a PNG with garbled pixels is named and nothing is registered', async () => {
    const s = studio();
    const jpeg = jpegBytes(64, 48, (x, y) => [x * 4, y * 5, 60]);
    const png = pngBytes(64, 48, (x, y) => [x * 4, y * 5, (x * y) % 256]);
    for (const [file, bytes] of [
      ['train/dog/half.jpg', jpeg.subarray(0, jpeg.length >> 1)],
      ['val/cat/garbled.png', garblePngPixels(png)],
    ] as const) {
      const dir = pets(path.dirname(file).replace('/', '-'));
      fs.writeFileSync(path.join(dir, file), bytes);
      // The preview reads headers only and still passes; the import decodes and refuses.
      expect(await s.dispatch('datasets:inspect', { path: dir })).toMatchObject({ ok: true });
      const message = failure(await s.dispatch('datasets:import', { path: dir, name: file }));
      expect(message).toContain(path.join(dir, file));
      expect(message).toMatch(/is a damaged (JPEG|PNG).*Copy the file again from its source, or delete it\. Nothing was imported\./);
    }
    expect(s.store.datasets.list()).toEqual([]);
    s.close();
  });

  it('answers a bad_request naming the file when an image breaks after import, not a server error', async () => {
    const s = studio();
    const dir = pets();
    const { result: info } = (await s.dispatch('datasets:import', { path: dir, name: 'pets' })) as { result: DatasetInfo };
    const broken = path.join(dir, 'train', 'cat', '0.png');
    fs.writeFileSync(broken, garblePngPixels(pngBytes(64, 48, (x, y) => [x * 4, y * 5, (x * y) % 256])));
    const message = failure(await s.dispatch('datasets:samples', { id: info.id, split: 'train' }));
    expect(message.startsWith(`Data set "pets" cannot show its train images: ${broken}: is a damaged PNG`)).toBe(true);
    s.close();
  });

  it('shows skipped files and classes without test images in the preview, and imports them only when told to', async () => {
    const s = studio();
    const dir = folder('birds');
    makeImageFolder(dir, { 'train/crow': [{}, {}], 'train/owl': [{}, {}], 'train/wren': [{}], 'val/crow': [{}] });
    fs.writeFileSync(path.join(dir, 'train', 'owl', 'notes.txt'), 'seen at dusk');
    const { result: preview } = (await s.dispatch('datasets:inspect', { path: dir })) as { result: DatasetInfo };
    expect(preview.classesWithoutTest).toEqual(['owl', 'wren']);
    expect(preview.skipped).toEqual({ files: [{ file: path.join('train', 'owl', 'notes.txt'), reason: 'not a .png, .jpg or .jpeg file' }], count: 1 });

    const refused = failure(await s.dispatch('datasets:import', { path: dir, name: 'birds' }));
    expect(refused).toBe(
      `${dir}: 1 file in its class folders would be skipped (first: ${path.join('train', 'owl', 'notes.txt')}, not a .png, .jpg or .jpeg file); ` +
        'classes "owl", "wren" have training images but no test images, so their test accuracy cannot be measured. Nothing was imported. ' +
        'Fix the folder, or import it as it is by ticking the preview\'s confirmation (API: "accept": ["skipped-files","classes-without-test"]).',
    );
    const half = failure(await s.dispatch('datasets:import', { path: dir, name: 'birds', accept: ['skipped-files'] }));
    expect(half).toMatch(/classes "owl", "wren" have training images but no test images.*"accept": \["classes-without-test"\]/);
    expect(half).not.toContain('skipped');
    expect(s.store.datasets.list()).toEqual([]);

    const imported = await s.dispatch('datasets:import', { path: dir, name: 'birds', accept: ['skipped-files', 'classes-without-test'] });
    expect(imported).toMatchObject({ ok: true, result: { name: 'birds', counts: { train: [2, 2, 1], test: [1, 0, 0] }, classesWithoutTest: ['owl', 'wren'], skipped: { count: 1 } } });
    // Flagged by counts alone, for every format: a CIFAR-10 test batch without class 9.
    const cifar = folder('cifar');
    writeCifar10(cifar, { train: patternSamples(20, 32, 32), test: patternSamples(9, 32, 32) });
    expect(await s.dispatch('datasets:inspect', { path: cifar })).toMatchObject({ ok: true, result: { classesWithoutTest: ['truck'] } });
    s.close();
  });

  it('reports decoding progress and cancels an import, registering nothing', async () => {
    const s = studio();
    const dir = pets();
    // Large photos take a while to decode, so the cancel lands mid-way.
    const photo = jpegBytes(1600, 1200, (x, y) => [x & 255, y & 255, (x ^ y) & 255], 90);
    const photos = Array.from({ length: 30 }, (_, i) => path.join(dir, 'train', 'dog', `photo${i}.jpg`));
    for (const file of photos) fs.writeFileSync(file, photo);
    const progress: { done: number; total: number }[] = [];
    const firstProgress = new Promise<void>((resolve) =>
      s.subscribe((event) => {
        if (event.name !== 'datasets:importProgress' || event.payload.importId !== 'imp-1') return;
        progress.push(event.payload);
        resolve();
      }),
    );
    const started = Date.now();
    const importing = s.dispatch('datasets:import', { path: dir, name: 'pets', importId: 'imp-1' });
    await firstProgress;
    expect(await s.dispatch('datasets:cancelImport', { importId: 'imp-1' })).toEqual({ ok: true, result: { cancelled: true } });
    const message = failure(await importing);
    expect(message).toBe(`The import of ${dir} was cancelled: nothing was registered.`);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.total === 36 && p.done < 36)).toBe(true);
    expect(Date.now() - started).toBeLessThan(30 * 1000);
    expect(s.store.datasets.list()).toEqual([]);
    expect(await s.dispatch('datasets:cancelImport', { importId: 'imp-1' })).toEqual({ ok: true, result: { cancelled: false } });

    // Without the photos the folder imports, its last progress event counting every image.
    for (const file of photos) fs.rmSync(file);
    const after: { done: number; total: number }[] = [];
    s.subscribe((event) => event.name === 'datasets:importProgress' && event.payload.importId === 'imp-2' && after.push(event.payload));
    expect(await s.dispatch('datasets:import', { path: dir, name: 'pets', importId: 'imp-2' })).toMatchObject({ ok: true, result: { counts: { train: [2, 2] } } });
    expect(after.at(-1)).toEqual({ importId: 'imp-2', done: 6, total: 6 });
    s.close();
  }, 120_000);

  it.each([
    ['a missing folder', (dir: string) => path.join(dir, 'nope'), 'does not exist'],
    ['a file', (dir: string) => fs.writeFileSync(path.join(dir, 'f.txt'), 'x') ?? path.join(dir, 'f.txt'), 'is a file, not a folder'],
    ['an empty folder', (dir: string) => dir, 'No data set found'],
    ['a relative path', () => 'data/cifar', 'must be an absolute path'],
  ])('explains %s', async (_label, make, message) => {
    const s = studio();
    const result = await s.dispatch('datasets:inspect', { path: make(folder('x')) });
    expect(result).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringContaining(message) } });
    s.close();
  });

  it('keeps names unique, removes imported sets and protects the built-in one', async () => {
    const s = studio();
    const dir = folder('cifar');
    writers.cifar10!(dir);
    const { result: info } = (await s.dispatch('datasets:import', { path: dir, name: 'Same' })) as { result: DatasetInfo };
    expect(await s.dispatch('datasets:import', { path: dir, name: 'same' })).toMatchObject({ ok: false, error: { code: 'conflict' } });
    expect(await s.dispatch('datasets:remove', { id: 'mnist' })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await s.dispatch('datasets:remove', { id: 'cifar' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await s.dispatch('datasets:remove', { id: info.id })).toEqual({ ok: true, result: { removed: true } });
    expect(s.datasets.list().map((d) => d.id)).toEqual(['mnist']);
    expect(fs.existsSync(path.join(dir, 'test_batch.bin'))).toBe(true);
    s.close();
  });

  it('offers the native folder picker only where the host has one', async () => {
    const web = studio();
    expect(web.info().capabilities.nativeDialogs).toBe(false);
    expect(await web.dispatch('dialog:pickFolder', {})).toMatchObject({ ok: false, error: { code: 'bad_request', message: expect.stringContaining('type or paste') } });
    web.close();
    const desktop = studio({ pickFolder: async (title) => `/picked/for/${title.length}` });
    expect(desktop.info().capabilities.nativeDialogs).toBe(true);
    expect(await desktop.dispatch('dialog:pickFolder', { title: 'abc' })).toEqual({ ok: true, result: { path: '/picked/for/3' } });
    desktop.close();
  });
});
