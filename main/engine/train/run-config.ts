/** A run's settings as the store keeps them: the validated config plus the cuts it resolved to. */
import path from 'node:path';
import { type TrainConfig, trainSettings } from '../../../shared/engine/config';
import { RECORD_ONLY_KEYS } from '../../../shared/engine/resolve-settings';
import { type Cut, splitCuts, validateCuts } from '../../../shared/engine/splits';

export function resolveCuts(config: TrainConfig): Cut[] {
  return splitCuts(config.depth, config.split);
}

/**
 * A stored run config split back into the validated settings and the resolved cuts. Read with
 * the field checks only: a run stored before a newer settings rule (./gradient-reach.ts) still
 * opens, evaluates and exports.
 */
export function savedConfig(stored: Record<string, unknown>): { config: TrainConfig; cuts: Cut[] } {
  const config = trainSettings.parse(Object.fromEntries(Object.entries(stored).filter(([key]) => !(RECORD_ONLY_KEYS as readonly string[]).includes(key))));
  return { config, cuts: Array.isArray(stored.cuts) ? validateCuts(config.depth, stored.cuts as number[][]) : resolveCuts(config) };
}

/** Where a run's files live: beside the database, so moving the database folder moves them too. */
export function runDir(dbPath: string, runId: number): string {
  return path.join(path.dirname(dbPath), 'runs', String(runId));
}

/** Where a run's checkpoint and weights go; null for an in-memory database, which keeps no files. */
export const runFilesDir = (dbPath: string, runId: number): string | null => (dbPath === ':memory:' ? null : runDir(dbPath, runId));
