/** Metrics, memory samples and artifacts of runs. Writes arrive in batches, one transaction each. */
import type { MetricPoint, MetricSeries } from '../../shared/api/schemas';
import type { MetricScope } from '../../shared/ids';
import { type Db, prepare } from './database';

export interface MemorySample {
  step: number;
  /** Index of the local module, or null for the whole network. */
  module: number | null;
  peakBytes: number;
  /** How the figure was measured, e.g. `tf.profile peakBytes`; every figure names its method. */
  method: string;
  at: number;
}

export interface Artifact {
  id: number;
  runId: number;
  kind: string;
  path: string;
  bytes: number | null;
  meta: Record<string, unknown>;
  createdAt: number;
}

/** Everything one flush writes; all of it lands, or none of it does. */
export interface RunRecordBatch {
  runId: number;
  metrics?: readonly MetricPoint[];
  memory?: readonly MemorySample[];
}

export class MetricRepository {
  constructor(private readonly db: Db) {}

  /** Write several runs' points in one transaction. Throws, writing nothing, if any row is rejected. */
  record(batches: readonly RunRecordBatch[]): void {
    const insertMetric = prepare(
      this.db,
      `INSERT OR REPLACE INTO metrics (run_id, scope, key, step, value, at) VALUES ($runId, $scope, $key, $step, $value, $at)`,
    );
    const insertMemory = prepare(
      this.db,
      `INSERT INTO memory_samples (run_id, step, module, peak_bytes, method, at) VALUES ($runId, $step, $module, $peakBytes, $method, $at)`,
    );
    this.db.transaction(() => {
      for (const { runId, metrics = [], memory = [] } of batches) {
        for (const p of metrics) {
          if (!Number.isFinite(p.value)) throw new Error(`[store] metric ${p.key} at step ${p.step} of run ${runId} is ${p.value}, not a finite number`);
          insertMetric.run({ runId, scope: p.scope, key: p.key, step: p.step, value: p.value, at: p.at });
        }
        for (const m of memory) insertMemory.run({ runId, ...m });
      }
    })();
  }

  /** Forget a run's points and memory samples: it is about to train again from the start. */
  clear(runId: number): void {
    this.db.transaction(() => {
      prepare(this.db, 'DELETE FROM metrics WHERE run_id = ?').run(runId);
      prepare(this.db, 'DELETE FROM memory_samples WHERE run_id = ?').run(runId);
      prepare(this.db, 'UPDATE runs SET best_test_acc = NULL, final_test_acc = NULL, final_epoch = NULL, peak_bytes = NULL, images_per_second = NULL, final_psnr = NULL, final_ssim = NULL, final_map = NULL, final_map50 = NULL WHERE id = ?').run(runId);
    })();
  }

  /** Every series of a run, by scope and key; `withTimes` adds when each point was recorded. */
  series(runId: number, scope?: MetricScope, withTimes = false): MetricSeries[] {
    const rows = prepare<[number, string | null, string | null], { scope: MetricScope; key: string; step: number; value: number; at: number }>(
      this.db,
      'SELECT scope, key, step, value, at FROM metrics WHERE run_id = ? AND (? IS NULL OR scope = ?) ORDER BY scope, key, step',
    ).all(runId, scope ?? null, scope ?? null);
    const byKey = new Map<string, MetricSeries>();
    for (const r of rows) {
      const id = `${r.scope}\u0000${r.key}`;
      let series = byKey.get(id);
      if (!series) byKey.set(id, (series = { key: r.key, scope: r.scope, steps: [], values: [], ...(withTimes ? { times: [] } : {}) }));
      series.steps.push(r.step);
      series.values.push(r.value);
      series.times?.push(r.at);
    }
    return [...byKey.values()];
  }

  memory(runId: number): MemorySample[] {
    return prepare<[number], MemorySample>(
      this.db,
      'SELECT step, module, peak_bytes AS peakBytes, method, at FROM memory_samples WHERE run_id = ? ORDER BY step, module',
    ).all(runId);
  }

  addArtifact(input: Omit<Artifact, 'id' | 'createdAt'>, now = Date.now()): Artifact {
    const { lastInsertRowid } = prepare(
      this.db,
      'INSERT INTO artifacts (run_id, kind, path, bytes, meta, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(input.runId, input.kind, input.path, input.bytes, JSON.stringify(input.meta), now);
    return { ...input, id: Number(lastInsertRowid), createdAt: now };
  }

  artifacts(runId: number): Artifact[] {
    return prepare<[number], { id: number; run_id: number; kind: string; path: string; bytes: number | null; meta: string; created_at: number }>(
      this.db,
      'SELECT * FROM artifacts WHERE run_id = ? ORDER BY id',
    )
      .all(runId)
      .map((r) => ({ id: r.id, runId: r.run_id, kind: r.kind, path: r.path, bytes: r.bytes, meta: JSON.parse(r.meta), createdAt: r.created_at }));
  }
}
