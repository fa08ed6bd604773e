/** Migration 1: projects, experiments, runs, metrics, memory samples, artifacts, tags. */
import type { Database } from 'better-sqlite3';

export const version = 1;

export function up(db: Database): void {
  db.exec(`
    CREATE TABLE projects (
      id          INTEGER PRIMARY KEY,
      name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
      description TEXT NOT NULL DEFAULT '',
      created_at  INTEGER NOT NULL
    );

    CREATE TABLE experiments (
      id          INTEGER PRIMARY KEY,
      project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      name        TEXT NOT NULL COLLATE NOCASE,
      kind        TEXT NOT NULL,
      description TEXT NOT NULL DEFAULT '',
      created_at  INTEGER NOT NULL,
      UNIQUE (project_id, name)
    );

    CREATE TABLE runs (
      id            INTEGER PRIMARY KEY,
      experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
      name          TEXT NOT NULL,
      kind          TEXT NOT NULL,
      status        TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','cancelled','interrupted')),
      config        TEXT NOT NULL CHECK (json_valid(config)),
      seed          INTEGER,
      created_at    INTEGER NOT NULL,
      started_at    INTEGER,
      ended_at      INTEGER,
      environment   TEXT CHECK (environment IS NULL OR json_valid(environment)),
      error         TEXT,
      notes         TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX runs_by_experiment ON runs (experiment_id, created_at DESC);
    CREATE INDEX runs_by_status ON runs (status);

    -- One row per (run, scope, key, step): a resumed run that re-reports a step replaces it.
    CREATE TABLE metrics (
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      scope  TEXT NOT NULL CHECK (scope IN ('step','epoch')),
      key    TEXT NOT NULL,
      step   INTEGER NOT NULL,
      value  REAL NOT NULL,
      at     INTEGER NOT NULL,
      PRIMARY KEY (run_id, scope, key, step)
    ) WITHOUT ROWID;

    -- Peak tensor bytes; module NULL means the whole network. 'method' names how it was measured.
    CREATE TABLE memory_samples (
      run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      step       INTEGER NOT NULL,
      module     INTEGER,
      peak_bytes INTEGER NOT NULL CHECK (peak_bytes >= 0),
      method     TEXT NOT NULL,
      at         INTEGER NOT NULL
    );
    CREATE INDEX memory_by_run ON memory_samples (run_id, step);

    CREATE TABLE artifacts (
      id         INTEGER PRIMARY KEY,
      run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      kind       TEXT NOT NULL,
      path       TEXT NOT NULL,
      bytes      INTEGER,
      meta       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta)),
      created_at INTEGER NOT NULL
    );
    CREATE INDEX artifacts_by_run ON artifacts (run_id);

    CREATE TABLE tags (
      run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      tag    TEXT NOT NULL,
      PRIMARY KEY (run_id, tag)
    ) WITHOUT ROWID;
    CREATE INDEX tags_by_name ON tags (tag);
  `);
}
