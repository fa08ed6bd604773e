/**
 * Super-resolution runs as jobs (issue 16): their settings, whether a stopped one can go on, and
 * what their worker is given. The worker side is ./super-resolution-run.ts.
 */
import { ApiError } from '../../shared/api/errors';
import { superResolutionSettings } from '../../shared/engine/tasks';
import { parseOrBadRequest } from '../api/dispatch';
import type { DatasetCatalog } from '../data/catalog';
import { imageFolderFiles } from '../data/imagefolder';
import { readImageHeader } from '../data/image-codec';
import { runFilesDir } from '../engine/train/run-config';
import type { JobKindHandler } from './kinds';
import { errorMessage } from './run-ledger';
import { hasSrCheckpoint, type SuperResolutionJob } from './super-resolution-run';

const bad = (field: string, text: string) => new ApiError('bad_request', `Invalid super-resolution settings: ${field}: ${text} Nothing was changed.`);

/** The photographs of an imported image folder, by split; refused, naming the field, when the set cannot train super-resolution. */
function photosOf(datasets: DatasetCatalog, id: string): { train: string[]; test: string[] } {
  let source;
  try {
    source = datasets.source(id);
  } catch (error) {
    throw bad('dataset', `${errorMessage(error)} Choose an image folder from the Data sets workspace.`);
  }
  if (source.kind !== 'imagefolder' || !source.path) throw bad('dataset', `${source.name} is a ${source.kind} set of small labelled images; super-resolution trains on photographs: import an image folder and choose it.`);
  try {
    return imageFolderFiles(source.path);
  } catch (error) {
    throw bad('dataset', `${source.name}: ${errorMessage(error)}`);
  }
}

export const superResolutionJobs: JobKindHandler = {
  configure(input, { datasets }) {
    const settings = parseOrBadRequest(superResolutionSettings, input, 'super-resolution settings');
    const files = photosOf(datasets, settings.dataset);
    if (!files.train.length) throw bad('dataset', 'the image folder has no training images.');
    if (!files.test.length) throw bad('dataset', 'the image folder has no test images to score the net on: give it a val/ folder, or at least two images per class.');
    // Every training photo must hold one low-res patch: refused now, not in the worker.
    const need = settings.patch * settings.scale;
    for (const file of files.train.slice(0, settings.trainImages ?? files.train.length)) {
      const { width, height } = readImageHeader(file);
      if (width < need || height < need) throw bad('patch', `${file} is ${width}x${height}, smaller than one ${settings.patch} px low-res patch at x${settings.scale} (${need} px): use a smaller patch or larger photographs.`);
    }
    return settings as unknown as Record<string, unknown>;
  },

  checkResumable(run, { store, datasets }) {
    if (run.status === 'done') throw new ApiError('conflict', `Run ${run.id} finished training; there is nothing to resume.`);
    if (run.status === 'running' || run.status === 'queued') throw new ApiError('conflict', `Run ${run.id} is ${run.status} already.`);
    const dir = runFilesDir(store.path, run.id);
    if (!dir || !hasSrCheckpoint(dir)) throw new ApiError('conflict', `Run ${run.id} has no checkpoint: it stopped before its first epoch ended. Train it again instead.`);
    photosOf(datasets, String(run.config.dataset));
  },

  prepare(run, { store, datasets }) {
    const settings = superResolutionSettings.parse(run.config);
    const filesDir = runFilesDir(store.path, run.id);
    if (!filesDir || !hasSrCheckpoint(filesDir)) store.metrics.clear(run.id);
    const payload: SuperResolutionJob = { runId: run.id, settings, files: photosOf(datasets, settings.dataset), filesDir };
    return { payload, filesDir };
  },
};
