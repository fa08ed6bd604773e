/**
 * Migration 7: the results of the tasks beyond classification (issue 16), kept on the run row
 * like test accuracy (migration 5) so the runs table shows and sorts them in SQL: a
 * super-resolution run's last PSNR-Y and SSIM-Y, a detection run's last mAP@[.5:.95] and mAP@0.5.
 * Each column follows its own epoch-scoped metric key (shared/engine/tasks.ts names them).
 */
import type { Database } from 'better-sqlite3';

export const version = 7;

const COLUMNS: Record<string, string> = { test_psnr: 'final_psnr', test_ssim: 'final_ssim', test_map: 'final_map', test_map50: 'final_map50' };

export function up(db: Database): void {
  const keys = Object.keys(COLUMNS).map((k) => `'${k}'`).join(', ');
  const sets = Object.entries(COLUMNS).map(([key, column]) => `${column} = CASE WHEN NEW.key = '${key}' THEN NEW.value ELSE ${column} END`).join(',\n        ');
  db.exec(`
    ${Object.values(COLUMNS).map((c) => `ALTER TABLE runs ADD COLUMN ${c} REAL;`).join('\n    ')}

    -- The newest epoch's value wins (a resumed run may write an epoch again).
    CREATE TRIGGER run_task_metrics AFTER INSERT ON metrics
    WHEN NEW.scope = 'epoch' AND NEW.key IN (${keys})
    BEGIN
      UPDATE runs SET
        ${sets},
        final_epoch = CASE WHEN NEW.key IN ('test_psnr', 'test_map') THEN max(coalesce(final_epoch, NEW.step), NEW.step) ELSE final_epoch END
      WHERE id = NEW.run_id
        AND NEW.step >= (SELECT max(step) FROM metrics m WHERE m.run_id = NEW.run_id AND m.scope = 'epoch' AND m.key = NEW.key);
    END;

    -- Results recorded before these columns existed (none in a released version, but any database a development build wrote).
    UPDATE runs SET
      ${Object.entries(COLUMNS).map(([key, column]) => `${column} = (SELECT value FROM metrics m WHERE m.run_id = runs.id AND m.scope = 'epoch' AND m.key = '${key}' ORDER BY step DESC LIMIT 1)`).join(',\n      ')};

    CREATE INDEX runs_by_psnr ON runs (final_psnr);
    CREATE INDEX runs_by_map ON runs (final_map);
  `);
}

/** The columns a run's summary reads, by metric key. */
export const TASK_METRIC_COLUMNS = COLUMNS;
