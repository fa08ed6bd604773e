/**
 * Operations on runs of the tasks beyond classification (issue 16): a super-resolution run's
 * live preview, and the export of its trained EDSR. Classification's own paths
 * (../engine/export/tfjs-export.ts, ../engine/train/evaluate-run.ts) stay as they are; the
 * handlers pick by the run's kind.
 */
import path from 'node:path';
import { ApiError } from '../../shared/api/errors';
import type { ExportResult, RunPreview } from '../../shared/api/schemas';
import { superResolutionSettings } from '../../shared/engine/tasks';
import { parseOrBadRequest } from './dispatch';
import type { TaskProbeRequest } from '../jobs/task-memory-probe';
import type { DatasetCatalog } from '../data/catalog';
import { selectBackend } from '../engine/backend/select';
import { checkExportDir } from '../engine/export/tfjs-export';
import { exportSrModel } from '../engine/export/sr-export';
import { exportDetModel } from '../engine/export/det-export';
import { detectionSettings } from '../../shared/engine/tasks';
import { detClassNames, loadDetModel, readDetectionFolder } from '../jobs/detection-run';
import { runFilesDir } from '../engine/train/run-config';
import { readDetPreview } from '../jobs/det-preview';
import { readSrPreview } from '../jobs/sr-preview';
import { loadSrModel } from '../jobs/super-resolution-run';
import type { Store } from '../store';

/** The latest preview of a super-resolution or detection run, or null before its first evaluation. */
export function runPreview(store: Store, id: number): RunPreview | null {
  const run = store.runs.get(id);
  if (run.kind !== 'super-resolution' && run.kind !== 'detection') throw new ApiError('bad_request', `Run ${id} is a ${run.kind} run; previews belong to super-resolution runs (low-res, output, high-res) and detection runs (predicted boxes).`);
  const dir = runFilesDir(store.path, id);
  if (!dir) return null;
  return run.kind === 'super-resolution' ? readSrPreview(dir) : readDetPreview(dir);
}

/** Export a finished super-resolution run's EDSR (no auxiliary nets) as a TF.js layers model with a card, for LR inputs of `inputSize` px (default: the run's evaluation crop). */
export async function exportSrRun(deps: { store: Store; datasets: DatasetCatalog }, id: number, out: string, inputSize: number | undefined): Promise<ExportResult> {
  const { store, datasets } = deps;
  const run = store.runs.get(id);
  const weights = store.metrics.artifacts(id).find((a) => a.kind === 'sr-weights');
  if (!weights) throw new ApiError('conflict', `Run ${id} has no saved weights (status ${run.status}): only runs that finished training can be exported.`);
  const dir = path.resolve(out);
  checkExportDir(dir);
  const settings = superResolutionSettings.parse(run.config);
  await selectBackend(settings.backend);
  const model = loadSrModel(weights.path, settings.seed);
  try {
    const last = (key: 'psnr' | 'ssim') => run.summary[key];
    let name: string | null = null;
    try {
      name = datasets.get(settings.dataset).name;
    } catch {
      // The set was removed since: the card keeps its id.
    }
    const result = await exportSrModel(model, dir, inputSize ?? settings.evalCrop, {
      runId: id,
      method: settings.method,
      cuts: settings.cuts,
      dataset: { id: settings.dataset, name: name ?? settings.dataset },
      psnr: last('psnr'),
      ssim: last('ssim'),
      backend: run.environment?.backend ?? null,
    });
    store.metrics.addArtifact({ runId: id, kind: 'export', path: dir, bytes: result.bytes, meta: { format: 'tfjs-layers-model', task: 'super-resolution', files: result.files.map((f) => f.name), dropped: result.card.dropped } });
    return { dir: result.dir, files: result.files, dropped: result.card.dropped, testAccuracy: null, psnr: result.card.psnr };
  } finally {
    model.dispose();
  }
}

/** Export a finished detection run's detector (no auxiliary nets) as a TF.js layers model with a card, for canvases of the size it trained on. */
export async function exportDetRun(deps: { store: Store }, id: number, out: string): Promise<ExportResult> {
  const { store } = deps;
  const run = store.runs.get(id);
  const weights = store.metrics.artifacts(id).find((a) => a.kind === 'det-weights');
  if (!weights) throw new ApiError('conflict', `Run ${id} has no saved weights (status ${run.status}): only runs that finished training can be exported.`);
  const dir = path.resolve(out);
  checkExportDir(dir);
  const settings = detectionSettings.parse(run.config);
  await selectBackend(settings.backend);
  const model = loadDetModel(weights.path, settings.seed);
  try {
    const result = await exportDetModel(model, dir, settings.folder ? settings.folder.size : settings.canvas.size, {
      runId: id,
      method: settings.method,
      cuts: settings.cuts,
      dataset: settings.folder ? `${settings.dataset}:${settings.folder.path}` : settings.dataset,
      classNames: detClassNames(weights.path),
      map: run.summary.map,
      map50: run.summary.map50,
      backend: run.environment?.backend ?? null,
    });
    store.metrics.addArtifact({ runId: id, kind: 'export', path: dir, bytes: result.bytes, meta: { format: 'tfjs-layers-model', task: 'detection', files: result.files.map((f) => f.name), dropped: result.card.dropped } });
    return { dir: result.dir, files: result.files, dropped: result.card.dropped, testAccuracy: null, map: result.card.map };
  } finally {
    model.dispose();
  }
}

/** What a task split's memory probe is given: its settings checked as runs:start checks them (the data set aside: the batch is synthetic). */
export function taskProbeRequest(kind: 'super-resolution' | 'detection', config: Record<string, unknown>): TaskProbeRequest {
  if (kind === 'super-resolution') return { kind, settings: parseOrBadRequest(superResolutionSettings, { ...config, dataset: 'synthetic' }, 'super-resolution settings') };
  const settings = parseOrBadRequest(detectionSettings, config, 'detection settings');
  if (settings.dataset !== 'mnist-canvas') {
    try {
      readDetectionFolder(settings);
    } catch (error) {
      throw new ApiError('bad_request', `Invalid detection settings: folder: ${error instanceof Error ? error.message : String(error)} Nothing was changed.`);
    }
  }
  return { kind, settings };
}
