/**
 * Migration 5: what the runs table sorts and filters on, kept on the run row so 10,000 runs sort
 * in SQL without reading their metrics: the settings (generated from the config JSON) and the
 * results (kept current by triggers on metrics and memory samples), each indexed.
 */
import type { Database } from 'better-sqlite3';

export const version = 5;

export function up(db: Database): void {
  db.exec(`
    ALTER TABLE runs ADD COLUMN method TEXT GENERATED ALWAYS AS (json_extract(config, '$.method')) VIRTUAL;
    ALTER TABLE runs ADD COLUMN depth INTEGER GENERATED ALWAYS AS (json_extract(config, '$.depth')) VIRTUAL;
    ALTER TABLE runs ADD COLUMN dataset TEXT GENERATED ALWAYS AS (json_extract(config, '$.dataset')) VIRTUAL;
    -- K as the papers count it: the cuts plus one (end-to-end is one module).
    ALTER TABLE runs ADD COLUMN modules INTEGER GENERATED ALWAYS AS (
      CASE WHEN json_extract(config, '$.method') = 'e2e' THEN 1 ELSE coalesce(json_array_length(config, '$.cuts'), 0) + 1 END
    ) VIRTUAL;
    ALTER TABLE runs ADD COLUMN best_test_acc REAL;
    ALTER TABLE runs ADD COLUMN final_test_acc REAL;
    ALTER TABLE runs ADD COLUMN final_epoch INTEGER;
    ALTER TABLE runs ADD COLUMN peak_bytes INTEGER;
    ALTER TABLE runs ADD COLUMN images_per_second REAL;

    CREATE TRIGGER run_test_acc AFTER INSERT ON metrics
    WHEN NEW.scope = 'epoch' AND NEW.key = 'test_acc'
    BEGIN
      UPDATE runs SET
        best_test_acc = max(coalesce(best_test_acc, NEW.value), NEW.value),
        final_test_acc = CASE WHEN NEW.step >= coalesce(final_epoch, -1) THEN NEW.value ELSE final_test_acc END,
        final_epoch = max(coalesce(final_epoch, NEW.step), NEW.step)
      WHERE id = NEW.run_id;
    END;
    CREATE TRIGGER run_speed AFTER INSERT ON metrics
    WHEN NEW.scope = 'epoch' AND NEW.key = 'images_per_second'
    BEGIN
      UPDATE runs SET images_per_second = NEW.value WHERE id = NEW.run_id;
    END;
    CREATE TRIGGER run_peak AFTER INSERT ON memory_samples
    WHEN NEW.module IS NULL
    BEGIN
      UPDATE runs SET peak_bytes = max(coalesce(peak_bytes, NEW.peak_bytes), NEW.peak_bytes) WHERE id = NEW.run_id;
    END;

    UPDATE runs SET
      best_test_acc = (SELECT max(value) FROM metrics m WHERE m.run_id = runs.id AND m.scope = 'epoch' AND m.key = 'test_acc'),
      final_test_acc = (SELECT value FROM metrics m WHERE m.run_id = runs.id AND m.scope = 'epoch' AND m.key = 'test_acc' ORDER BY step DESC LIMIT 1),
      final_epoch = (SELECT max(step) FROM metrics m WHERE m.run_id = runs.id AND m.scope = 'epoch' AND m.key = 'test_acc'),
      images_per_second = (SELECT value FROM metrics m WHERE m.run_id = runs.id AND m.scope = 'epoch' AND m.key = 'images_per_second' ORDER BY step DESC LIMIT 1),
      peak_bytes = (SELECT max(peak_bytes) FROM memory_samples s WHERE s.run_id = runs.id AND s.module IS NULL);

    CREATE INDEX runs_by_method ON runs (method);
    CREATE INDEX runs_by_dataset ON runs (dataset);
    CREATE INDEX runs_by_best_acc ON runs (best_test_acc);
    CREATE INDEX runs_by_final_acc ON runs (final_test_acc);
    CREATE INDEX runs_by_peak ON runs (peak_bytes);
    CREATE INDEX runs_by_created ON runs (created_at);
  `);
}
