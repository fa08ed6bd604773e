/** Ordered schema migrations. Each runs in its own transaction that also bumps `user_version`. */
import type { Database } from 'better-sqlite3';
import * as m0001 from './0001-initial';
import * as m0002 from './0002-datasets';
import * as m0003 from './0003-run-owner';
import * as m0004 from './0004-saved-splits';
import * as m0005 from './0005-run-summary';
import * as m0006 from './0006-run-training-time';
import * as m0007 from './0007-task-metrics';
import * as m0008 from './0008-talking-head-projects';

export interface Migration {
  version: number;
  up(db: Database): void;
}

export const MIGRATIONS: readonly Migration[] = [m0001, m0002, m0003, m0004, m0005, m0006, m0007, m0008];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export class DatabaseFromFutureError extends Error {
  constructor(path: string, found: number) {
    super(
      `The database ${path} has schema version ${found}, but this studio only knows versions up to ${LATEST_VERSION}. ` +
        'It was written by a newer Blockwise Studio: update the app, or open another database with --db.',
    );
    this.name = 'DatabaseFromFutureError';
  }
}

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Bring `db` up to `target` (default: latest). Returns the versions applied. */
export function migrate(db: Database, path: string, migrations: readonly Migration[] = MIGRATIONS, target = LATEST_VERSION): number[] {
  assertIncreasing(migrations);
  const current = schemaVersion(db);
  if (current > LATEST_VERSION) throw new DatabaseFromFutureError(path, current);
  const applied: number[] = [];
  for (const migration of migrations) {
    if (migration.version <= current || migration.version > target) continue;
    db.transaction(() => {
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    })();
    applied.push(migration.version);
  }
  return applied;
}

function assertIncreasing(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (i > 0 && m.version <= migrations[i - 1]!.version) {
      throw new Error(`[store] migrations out of order: ${migrations[i - 1]!.version} is followed by ${m.version}`);
    }
  });
}
