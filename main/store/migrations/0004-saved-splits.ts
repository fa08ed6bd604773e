/** Migration 4: splits saved by name in the split editor (a depth and its cut list), and the order of the job queue. */
import type { Database } from 'better-sqlite3';

export const version = 4;

export function up(db: Database): void {
  db.exec(`
    CREATE TABLE saved_splits (
      id         INTEGER PRIMARY KEY,
      name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
      depth      INTEGER NOT NULL,
      cuts       TEXT NOT NULL CHECK (json_valid(cuts)),
      created_at INTEGER NOT NULL
    );
    -- Where a queued run stands in the queue; NULL sorts by id (submission order).
    ALTER TABLE runs ADD COLUMN queue_position REAL;
  `);
}
