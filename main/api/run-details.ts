/**
 * What a run's page shows besides its metrics: its files, the time it waited in the queue apart
 * from the time it trained, and an event log read back from what the store recorded (created,
 * started, each epoch's accuracy, files written, how it ended).
 */
import fs from 'node:fs';
import type { RunDetails } from '../../shared/api/schemas';
import { hasCheckpoint } from '../engine/train/checkpoint';
import { runFilesDir } from '../engine/train/run-config';
import type { Store } from '../store';

const percent = (v: number) => `${(v * 100).toFixed(2)}%`;

export function runDetails(store: Store, id: number): RunDetails {
  const run = store.runs.get(id);
  const artifacts = store.metrics.artifacts(id).map(({ kind, path, bytes, createdAt, meta }) => ({ kind, path, bytes, createdAt, meta }));
  // A stopped run's last end-of-epoch checkpoint (a finished run's is dropped once its weights are saved).
  const dir = runFilesDir(store.path, id);
  if (dir && hasCheckpoint(dir)) artifacts.unshift({ kind: 'checkpoint', path: dir, bytes: null, createdAt: Math.floor(fs.statSync(dir).mtimeMs), meta: { resumable: true } });

  const events: RunDetails['events'] = [{ at: run.createdAt, kind: 'queued', text: 'Created and queued' }];
  if (run.startedAt !== null) events.push({ at: run.startedAt, kind: 'started', text: `Started training${run.environment?.backend ? ` on ${run.environment.backend}` : ''}` });
  const epochs = store.metrics.series(id, 'epoch', true);
  const test = epochs.find((s) => s.key === 'test_acc');
  const train = epochs.find((s) => s.key === 'train_acc');
  test?.steps.forEach((epoch, i) => {
    const trainAcc = train?.values[train.steps.indexOf(epoch)];
    events.push({ at: test.times![i]!, kind: 'epoch', text: `Epoch ${epoch}: test accuracy ${percent(test.values[i]!)}${trainAcc === undefined ? '' : `, train ${percent(trainAcc)}`}` });
  });
  // Super-resolution runs are scored on PSNR-Y and SSIM-Y each epoch.
  const psnr = epochs.find((s) => s.key === 'test_psnr');
  const ssim = epochs.find((s) => s.key === 'test_ssim');
  psnr?.steps.forEach((epoch, i) => {
    const s = ssim?.values[ssim.steps.indexOf(epoch)];
    events.push({ at: psnr.times![i]!, kind: 'epoch', text: `Epoch ${epoch}: PSNR-Y ${psnr.values[i]!.toFixed(2)} dB${s === undefined ? '' : `, SSIM-Y ${s.toFixed(4)}`}` });
  });
  const peak = store.metrics.memory(id).find((m) => m.module === null);
  if (peak) events.push({ at: peak.at, kind: 'memory', text: `First step measured: peak ${(peak.peakBytes / 2 ** 20).toFixed(1)} MiB (${peak.method})` });
  for (const a of artifacts) if (a.kind !== 'checkpoint') events.push({ at: a.createdAt, kind: 'artifact', text: `${a.kind === 'weights' || a.kind === 'sr-weights' ? 'Weights saved' : a.kind === 'export' ? 'Exported' : a.kind} to ${a.path}` });
  if (run.endedAt !== null) events.push({ at: run.endedAt, kind: run.status, text: `Ended ${run.status}${run.error ? `: ${run.error}` : ''}` });
  events.sort((a, b) => a.at - b.at);

  return { run, artifacts, queuedMs: run.startedAt === null ? null : Math.max(0, run.startedAt - run.createdAt), trainingMs: run.summary.durationMs, events };
}
