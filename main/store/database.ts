/** Opening the SQLite file: pragmas, migrations and a per-connection cache of prepared statements. */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrations';

export type Db = Database.Database;

/** `nativeBinding`: a better-sqlite3 binary built for another runtime (Electron), see platform/native-sqlite.ts. */
export function openDatabase(file: string, nativeBinding?: string): Db {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file, nativeBinding ? { nativeBinding } : {});
  try {
    switchToWal(db);
    // SQLite leaves foreign keys off unless asked, per connection.
    db.pragma('foreign_keys = ON');
    // A CLI run and the studio may write the same file; wait for the other writer instead of failing.
    db.pragma('busy_timeout = 5000');
    migrate(db, file);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function switchToWal(db: Db): void {
  db.pragma('journal_mode = WAL');
  // FULL: a committed batch of metrics survives power loss too, at one fsync per batch.
  db.pragma('synchronous = FULL');
}

export function closeDatabase(db: Db): void {
  if (!db.open) return;
  db.pragma('optimize');
  db.close();
}

const cache = new WeakMap<Db, Map<string, Database.Statement>>();

/** Prepare once per connection; statements are reused on every call. */
export function prepare<P extends unknown[] | object = unknown[], R = unknown>(db: Db, sql: string): Database.Statement<P, R> {
  let statements = cache.get(db);
  if (!statements) cache.set(db, (statements = new Map()));
  let statement = statements.get(sql);
  if (!statement) statements.set(sql, (statement = db.prepare(sql)));
  return statement as unknown as Database.Statement<P, R>;
}
