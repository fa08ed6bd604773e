/** A run's settings as the store keeps them: the validated config plus the cuts it resolved to. */
import path from 'node:path';
import { type TrainConfig, trainConfig } from '../../../shared/engine/config';
import { type Cut, splitPresets, validateCuts } from '../../../shared/engine/splits';

export function resolveCuts(config: TrainConfig): Cut[] {
  if (typeof config.split !== 'string') return validateCuts(config.depth, config.split);
  const preset = splitPresets(config.depth).find((p) => p.id === config.split);
  if (!preset) {
    throw new Error(`Split "${config.split}" is not a preset of ResNet-${config.depth}: choose one of ${splitPresets(config.depth).map((p) => p.id).join(', ')}, or give a cut list like [[1,0],[2,0]].`);
  }
  return [...preset.cuts];
}

/** A stored run config split back into the validated settings and the resolved cuts. */
export function savedConfig(stored: Record<string, unknown>): { config: TrainConfig; cuts: Cut[] } {
  const config = trainConfig.parse(Object.fromEntries(Object.entries(stored).filter(([key]) => key !== 'cuts')));
  return { config, cuts: Array.isArray(stored.cuts) ? validateCuts(config.depth, stored.cuts as number[][]) : resolveCuts(config) };
}

/** Where a run's files live: beside the database, so moving the database folder moves them too. */
export function runDir(dbPath: string, runId: number): string {
  return path.join(path.dirname(dbPath), 'runs', String(runId));
}

/** Where a run's checkpoint and weights go; null for an in-memory database, which keeps no files. */
export const runFilesDir = (dbPath: string, runId: number): string | null => (dbPath === ':memory:' ? null : runDir(dbPath, runId));
