/**
 * Migration 3: which process trains a run (pid and host), so a run left `running` by a process
 * that was killed can be told from one another live process (the CLI, a second studio) is
 * training, and marked `interrupted`.
 */
import type { Database } from 'better-sqlite3';

export const version = 3;

export function up(db: Database): void {
  db.exec(`
    ALTER TABLE runs ADD COLUMN owner_pid INTEGER;
    ALTER TABLE runs ADD COLUMN owner_host TEXT;
  `);
}
