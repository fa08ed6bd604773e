/** Migration 8: talking-head editor projects (face, speech, sliders, keyframes and model, as one JSON state). */
import type { Database } from 'better-sqlite3';

export const version = 8;

export function up(db: Database): void {
  db.exec(`
    CREATE TABLE talking_head_projects (
      id         INTEGER PRIMARY KEY,
      name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
      state      TEXT NOT NULL CHECK (json_valid(state)),
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );
  `);
}
