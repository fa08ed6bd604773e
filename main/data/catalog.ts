/**
 * The data sets the studio knows: the built-in MNIST plus every folder imported into the
 * store. It checks a folder before anything is registered (layout and headers for the
 * preview; then, at import, every image decoded once in a worker), serves sample images to
 * the UI, and opens a registered set for training by its id.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import { ApiError } from '../../shared/api/errors';
import type { DatasetInfo, DatasetPreview, DatasetSamples, ImportAcceptance } from '../../shared/api/schemas';
import type { DatasetKind } from '../../shared/ids';
import { checkUserPath } from '../platform/user-paths';
import type { Store } from '../store';
import type { DatasetRecord } from '../store/datasets';
import { type DecodeCheck, DecodeCheckCancelled, startDecodeCheck } from './decode-check';
import { detectFormat, FORMAT_HINTS, FORMATS, type FolderKind } from './formats';
import { type MnistSplit, openMnist, summarizeMnist } from './mnist';
import { type Dataset, DatasetError, type DatasetSummary, type OpenOptions, type SplitName } from './types';

export const BUILTIN_MNIST_ID = 'mnist';
const IMPORTED_ID = /^ds-(\d+)$/;

/** Stored with an imported set: its summary plus the options it was read with. */
interface StoredSummary extends DatasetSummary {
  imageSize?: number;
}

/**
 * Where a registered set's files are and how to read them: plain data, so a training worker
 * (which has no store) can open the set with openDatasetSource.
 */
export interface DatasetSource {
  id: string;
  name: string;
  kind: DatasetKind;
  /** null for the built-in MNIST. */
  path: string | null;
  imageSize?: number | undefined;
  /** The built-in MNIST's train/test split a run chose (the default split when absent). */
  split?: MnistSplit | undefined;
}

/** Open a set from its source; a reader's error becomes a bad_request naming the set. */
export async function openDatasetSource(source: DatasetSource, options: OpenOptions = {}): Promise<Dataset> {
  if (source.kind === 'mnist') return openMnist(source.split);
  try {
    return await FORMATS[source.kind].open(source.path!, { ...options, ...sizeOption(source.imageSize) });
  } catch (error) {
    throw asBadRequest(error, `Data set "${source.name}" cannot be opened`);
  }
}

export interface FolderRequest {
  path: string;
  kind?: DatasetKind | undefined;
  /** Image folders only: side of the square images fed to the network. */
  imageSize?: number | undefined;
}

export interface ImportRequest extends FolderRequest {
  name: string;
  /** What the preview showed and the caller registers anyway; without it such a folder is refused. */
  accept?: readonly ImportAcceptance[] | undefined;
  /** Names the import for cancelImport (and the caller's progress events). */
  importId?: string | undefined;
}

export class DatasetCatalog {
  /** The last set opened for samples, kept so browsing classes does not decode it again. */
  private open_: { id: string; dataset: Promise<Dataset> } | undefined;
  /** Imports decoding their images now, by importId. */
  private readonly decoding = new Map<string, DecodeCheck>();

  constructor(private readonly store: Store) {}

  list(): DatasetInfo[] {
    return [this.builtIn(), ...this.store.datasets.list<StoredSummary>().map(toInfo)];
  }

  get(id: string): DatasetInfo {
    return id === BUILTIN_MNIST_ID ? this.builtIn() : toInfo(this.record(id));
  }

  /** What the folder holds, checked file by file; throws a bad_request naming the bad file. */
  async inspect(request: FolderRequest): Promise<DatasetPreview> {
    const { kind, summary } = await this.summarize(request);
    return toPreview(summary, request.path, kind);
  }

  /**
   * Checks the folder as inspect does, refuses what the caller has not accepted, decodes every
   * image once in a worker (`onProgress` gets images done of total), then registers the set.
   * Any failure or a cancel registers nothing.
   */
  async import(request: ImportRequest, onProgress?: (done: number, total: number) => void): Promise<DatasetInfo> {
    // Before any decoding: finding a taken name after minutes of it would waste them.
    const taken = this.store.datasets.list().find((d) => d.name.toLowerCase() === request.name.toLowerCase());
    if (taken) throw new ApiError('conflict', `A data set named "${taken.name}" already exists: choose another name.`);
    if (request.importId && this.decoding.has(request.importId)) throw new ApiError('conflict', `An import with id "${request.importId}" is already running.`);
    const { kind, summary } = await this.summarize(request);
    const dir = path.resolve(request.path);
    refuseUnaccepted(dir, toPreview(summary, dir, kind), request.accept ?? []);
    await this.decodeAll({ kind, path: dir, size: request.imageSize }, request.importId, onProgress);
    const stored: StoredSummary = request.imageSize ? { ...summary, imageSize: request.imageSize } : summary;
    return toInfo(this.store.datasets.add({ name: request.name, kind: summary.kind, path: dir, summary: stored }));
  }

  /** Stops a running import's decoding; false when none runs under that id. */
  cancelImport(importId: string): boolean {
    const check = this.decoding.get(importId);
    check?.cancel();
    return check !== undefined;
  }

  remove(id: string): void {
    if (id === BUILTIN_MNIST_ID) throw new ApiError('bad_request', 'The built-in MNIST cannot be removed.');
    this.store.datasets.remove(this.recordId(id));
    if (this.open_?.id === id) this.open_ = undefined;
  }

  /** Open a registered set for training or browsing. Image folders stream when they exceed `maxInMemoryBytes`. */
  async open(id: string, options: OpenOptions = {}): Promise<Dataset> {
    return openDatasetSource(this.source(id), options);
  }

  /** What a worker needs to open the set itself; throws not_found for an unknown id. */
  source(id: string): DatasetSource {
    if (id === BUILTIN_MNIST_ID) return { id, name: 'MNIST', kind: 'mnist', path: null };
    const record = this.record(id);
    return { id, name: record.name, kind: record.kind, path: record.path, imageSize: record.summary.imageSize };
  }

  async samples(id: string, split: SplitName, perClass: number): Promise<DatasetSamples> {
    if (this.open_?.id !== id) {
      // An image folder streams with a budget of 0, decoding only the images shown, however large
      // the set; the binary formats cannot stream and load whole (within the usual budget).
      const streaming = id !== BUILTIN_MNIST_ID && this.record(id).kind === 'imagefolder';
      this.open_ = { id, dataset: this.open(id, streaming ? { maxInMemoryBytes: 0 } : {}) };
      this.open_.dataset.catch(() => (this.open_ = undefined));
    }
    const dataset = await this.open_.dataset;
    const source = dataset.splits[split];
    const chosen = dataset.classes.map(() => [] as number[]);
    const counts = dataset.classes.map(() => 0);
    source.labels.forEach((label, index) => {
      counts[label]!++;
      if (chosen[label]!.length < perClass) chosen[label]!.push(index);
    });
    let pixels: Uint8Array;
    try {
      pixels = await source.read(chosen.flat());
    } catch (error) {
      throw asBadRequest(error, `Data set "${this.get(id).name}" cannot show its ${split} images`);
    }
    let at = 0;
    return {
      classes: dataset.classes.map((name, label) => ({
        name,
        count: counts[label]!,
        images: chosen[label]!.map(() => toPngDataUrl(pixels, at++, dataset.shape)),
      })),
    };
  }

  private builtIn(): DatasetInfo {
    return { ...toPreview(summarizeMnist(), null, 'mnist'), id: BUILTIN_MNIST_ID, builtIn: true, createdAt: null };
  }

  private recordId(id: string): number {
    const match = IMPORTED_ID.exec(id);
    if (!match) throw new ApiError('not_found', `No data set with id "${id}": ids are "${BUILTIN_MNIST_ID}" or "ds-<number>".`);
    return Number(match[1]);
  }

  private record(id: string): DatasetRecord<StoredSummary> {
    return this.store.datasets.get<StoredSummary>(this.recordId(id));
  }

  private async decodeAll(request: { kind: FolderKind; path: string; size?: number | undefined }, importId: string | undefined, onProgress?: (done: number, total: number) => void): Promise<void> {
    const check = startDecodeCheck(request, onProgress);
    if (importId) this.decoding.set(importId, check);
    try {
      await check.done;
    } catch (error) {
      if (error instanceof DecodeCheckCancelled) throw new ApiError('bad_request', `The import of ${request.path} was cancelled: nothing was registered.`);
      // The worker's DatasetError arrives as a plain Error that kept its name.
      if ((error as Error).name === 'DatasetError') throw new ApiError('bad_request', `${request.path} is not a readable ${request.kind} data set: ${(error as Error).message}. Nothing was imported.`);
      throw error;
    } finally {
      if (importId) this.decoding.delete(importId);
    }
  }

  private async summarize(request: FolderRequest): Promise<{ kind: FolderKind; summary: DatasetSummary }> {
    const dir = path.resolve(request.path);
    checkFolder(dir);
    if (request.kind === 'mnist') throw new ApiError('bad_request', 'MNIST is built in and needs no import; choose another kind or leave the kind empty to detect it.');
    const kind = request.kind ?? detectFormat(dir);
    if (!kind) {
      throw new ApiError('bad_request', `No data set found in ${dir}. Expected one of: ${Object.values(FORMAT_HINTS).join('; ')}.`);
    }
    try {
      const format = FORMATS[kind];
      const summary = await format.summarize(dir, sizeOption(request.imageSize));
      return { kind, summary };
    } catch (error) {
      throw asBadRequest(error, `${dir} is not a readable ${kind} data set`, ' Nothing was imported.');
    }
  }
}

function checkFolder(dir: string): void {
  checkUserPath(dir, { kind: 'folder', what: 'data set folder', action: 'import from' });
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new ApiError('bad_request', `${dir} does not exist: check the path (it must be a folder on the machine running the studio).`);
  }
  if (!stat.isDirectory()) throw new ApiError('bad_request', `${dir} is a file, not a folder: choose the folder that holds the data set's files.`);
}

function sizeOption(imageSize: number | undefined): { size?: number } {
  return imageSize ? { size: imageSize } : {};
}

/** A reader's DatasetError names the file; anything else is a studio bug and stays internal. */
function asBadRequest(error: unknown, context: string, outcome = ''): unknown {
  if (error instanceof DatasetError) return new ApiError('bad_request', `${context}: ${error.message}.${outcome}`);
  return error;
}

/** What a preview flags must be accepted by name; the message says what was found and how to accept it. */
function refuseUnaccepted(dir: string, preview: DatasetPreview, accept: readonly ImportAcceptance[]): void {
  const problems: string[] = [];
  const needed: ImportAcceptance[] = [];
  const { skipped, classesWithoutTest } = preview;
  if (skipped.count > 0 && !accept.includes('skipped-files')) {
    const first = skipped.files[0]!;
    problems.push(`${skipped.count} file${skipped.count === 1 ? '' : 's'} in its class folders would be skipped (first: ${first.file}, ${first.reason})`);
    needed.push('skipped-files');
  }
  if (classesWithoutTest.length > 0 && !accept.includes('classes-without-test')) {
    const names = classesWithoutTest.map((c) => `"${c}"`).join(', ');
    problems.push(`class${classesWithoutTest.length === 1 ? '' : 'es'} ${names} ${classesWithoutTest.length === 1 ? 'has' : 'have'} training images but no test images, so ${classesWithoutTest.length === 1 ? 'its' : 'their'} test accuracy cannot be measured`);
    needed.push('classes-without-test');
  }
  if (problems.length === 0) return;
  throw new ApiError(
    'bad_request',
    `${dir}: ${problems.join('; ')}. Nothing was imported. Fix the folder, or import it as it is by ticking the preview's confirmation (API: "accept": ${JSON.stringify(needed)}).`,
  );
}

/** Classes with training images and no test images. */
function classesWithoutTest(summary: DatasetSummary): string[] {
  return summary.classes.filter((_, c) => (summary.counts.train[c] ?? 0) > 0 && (summary.counts.test[c] ?? 0) === 0);
}

function toPreview(summary: DatasetSummary, folder: string | null, kind: DatasetKind): DatasetPreview {
  return {
    kind,
    name: summary.name,
    path: folder && path.resolve(folder),
    classes: [...summary.classes],
    shape: summary.shape,
    counts: { train: [...summary.counts.train], test: [...summary.counts.test] },
    decodedBytes: summary.decodedBytes,
    // Sets imported before these checks stored neither.
    skipped: summary.skipped ?? { files: [], count: 0 },
    classesWithoutTest: classesWithoutTest(summary),
  };
}

function toInfo(record: DatasetRecord<StoredSummary>): DatasetInfo {
  return { ...toPreview(record.summary, record.path, record.kind), name: record.name, id: `ds-${record.id}`, builtIn: false, createdAt: record.createdAt };
}

function toPngDataUrl(pixels: Uint8Array, index: number, shape: Dataset['shape']): string {
  const { height, width, channels } = shape;
  const png = new PNG({ width, height });
  const base = index * height * width * channels;
  for (let p = 0; p < height * width; p++) {
    for (let c = 0; c < 3; c++) png.data[p * 4 + c] = pixels[base + p * channels + (channels === 1 ? 0 : c)]!;
    png.data[p * 4 + 3] = 255;
  }
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}
