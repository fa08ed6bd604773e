/** Migration 2: the data sets imported from disk (the built-in MNIST needs no row). */
import type { Database } from 'better-sqlite3';

export const version = 2;

export function up(db: Database): void {
  db.exec(`
    CREATE TABLE datasets (
      id         INTEGER PRIMARY KEY,
      name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
      kind       TEXT NOT NULL,
      path       TEXT NOT NULL,
      -- What the reader found at import: classes, shape, counts per split, decoded size, options.
      summary    TEXT NOT NULL CHECK (json_valid(summary)),
      created_at INTEGER NOT NULL
    );
  `);
}
