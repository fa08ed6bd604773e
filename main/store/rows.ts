/** Mapping between SQLite rows and the contract's records. */
import type { Experiment, Project, Run, RunEnvironment } from '../../shared/api/schemas';
import type { JobKind, RunStatus } from '../../shared/ids';

export interface ProjectRow {
  id: number;
  name: string;
  description: string;
  created_at: number;
  experiment_count: number;
}

export interface ExperimentRow {
  id: number;
  project_id: number;
  name: string;
  kind: string;
  description: string;
  created_at: number;
  run_count: number;
}

export interface RunRow {
  id: number;
  experiment_id: number;
  name: string;
  kind: string;
  status: string;
  config: string;
  seed: number | null;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  environment: string | null;
  error: string | null;
  notes: string;
  tags: string | null;
  method: string | null;
  depth: number | null;
  dataset: string | null;
  modules: number | null;
  best_test_acc: number | null;
  final_test_acc: number | null;
  final_epoch: number | null;
  peak_bytes: number | null;
  images_per_second: number | null;
  final_psnr: number | null;
  final_ssim: number | null;
  final_map: number | null;
  final_map50: number | null;
  trained_ms: number;
  running_since: number | null;
}

export const toProject = (r: ProjectRow): Project => ({
  id: r.id,
  name: r.name,
  description: r.description,
  createdAt: r.created_at,
  experimentCount: r.experiment_count,
});

export const toExperiment = (r: ExperimentRow): Experiment => ({
  id: r.id,
  projectId: r.project_id,
  name: r.name,
  kind: r.kind as JobKind,
  description: r.description,
  createdAt: r.created_at,
  runCount: r.run_count,
});

export const toRun = (r: RunRow): Run => ({
  id: r.id,
  experimentId: r.experiment_id,
  name: r.name,
  kind: r.kind as JobKind,
  status: r.status as RunStatus,
  config: JSON.parse(r.config) as Record<string, unknown>,
  seed: r.seed,
  createdAt: r.created_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  environment: r.environment === null ? null : (JSON.parse(r.environment) as RunEnvironment),
  error: r.error,
  notes: r.notes,
  tags: r.tags ? (JSON.parse(r.tags) as string[]).sort() : [],
  summary: {
    method: r.method,
    depth: r.depth,
    dataset: r.dataset,
    modules: r.modules,
    bestTestAccuracy: r.best_test_acc,
    finalTestAccuracy: r.final_test_acc,
    epochs: r.final_epoch,
    peakBytes: r.peak_bytes,
    imagesPerSecond: r.images_per_second,
    psnr: r.final_psnr,
    ssim: r.final_ssim,
    map: r.final_map,
    map50: r.final_map50,
    // Training time only: the queue and the time stopped before a resume are left out (migration 6).
    durationMs: r.started_at === null ? null : r.trained_ms + (r.running_since === null ? 0 : Math.max(0, Date.now() - r.running_since)),
  },
});
