/**
 * Migration 6: how long a run has trained, apart from the time it waited in the queue or stood
 * stopped before a resume. `trained_ms` adds up the finished stretches of `running`;
 * `running_since` is when the current stretch began (null while not running).
 */
import type { Database } from 'better-sqlite3';

export const version = 6;

export function up(db: Database): void {
  db.exec(`
    ALTER TABLE runs ADD COLUMN trained_ms INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN running_since INTEGER;
    -- Earlier runs: one stretch from start to end (a resumed run's earlier stretches are not known apart).
    UPDATE runs SET
      trained_ms = CASE WHEN started_at IS NOT NULL AND ended_at IS NOT NULL THEN ended_at - started_at ELSE 0 END,
      running_since = CASE WHEN status = 'running' THEN started_at END;
  `);
}
