/** Opening the SQLite file: pragmas, migrations and a per-connection cache of prepared statements. */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { checkUserPath, makeFolders } from '../platform/user-paths';
import { migrate } from './migrations';

export type Db = Database.Database;

/** `nativeBinding`: a better-sqlite3 binary built for another runtime (Electron), see platform/native-sqlite.ts. */
export function openDatabase(file: string, nativeBinding?: string): Db {
  if (file !== ':memory:') checkDatabasePath(file);
  let db: Db;
  try {
    db = new Database(file, nativeBinding ? { nativeBinding } : {});
  } catch (error) {
    throw namingTheFile(error, file);
  }
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
    throw namingTheFile(error, file);
  }
}

/**
 * Before SQLite sees it: a path that can hold a database (platform/user-paths.ts), its folder made,
 * and the file and its journals writable. SQLite would open a read-only file read-only without a
 * word, and every later write would fail; access(W_OK) also sees an immutable file or a read-only
 * disk, which root's permission bits do not.
 */
function checkDatabasePath(file: string): void {
  const { exists } = checkUserPath(file, { kind: 'file', what: 'database file', action: 'open the database' });
  makeFolders(path.dirname(file), 'database folder');
  const journals = [`${file}-wal`, `${file}-shm`].filter((f) => fs.existsSync(f));
  for (const target of [...(exists ? [file] : []), ...journals, path.dirname(file)]) {
    try {
      fs.accessSync(target, fs.constants.W_OK);
    } catch (error) {
      throw readOnly(file, target, error);
    }
  }
}

function readOnly(file: string, target: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === 'EROFS' ? 'is on a read-only file system' : code === 'EPERM' ? 'is marked immutable or the system forbids writing it' : 'is not writable by you';
  const which = target === file ? 'the file' : target === path.dirname(file) ? `its folder ${target}` : `its journal ${target}`;
  return new Error(`The database ${file} is read-only: ${which} ${why}. To use it, make it writable (chmod u+w, or chattr -i for an immutable file), or choose another file with --db PATH.`);
}

/** SQLite's messages ("file is not a database") do not say which file: startup errors must. */
function namingTheFile(error: unknown, file: string): unknown {
  if (!(error instanceof Error) || error.message.includes(file)) return error;
  const code = (error as { code?: unknown }).code;
  const fix =
    code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT'
      ? 'choose another file with --db PATH, or move this one away to start a new database'
      : 'check the file and its folder, or choose another file with --db PATH';
  return new Error(`The database ${file} cannot be opened (SQLite: ${error.message}): ${fix}.`, { cause: error });
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
