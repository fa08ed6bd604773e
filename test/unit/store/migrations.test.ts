import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../main/store/database';
import { DatabaseFromFutureError, LATEST_VERSION, MIGRATIONS, migrate, schemaVersion } from '../../../main/store/migrations';
import { useTempDir } from '../../helpers/temp';

const tables = (db: Database.Database) =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);

describe('migrations', () => {
  const tmp = useTempDir();

  it('bring an empty file to the latest version with every table', () => {
    const db = openDatabase(path.join(tmp(), 'a', 'studio.sqlite'));
    expect(schemaVersion(db)).toBe(LATEST_VERSION);
    expect(tables(db)).toEqual(['artifacts', 'datasets', 'experiments', 'memory_samples', 'metrics', 'projects', 'runs', 'saved_splits', 'tags', 'talking_head_projects']);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
  });

  it('are a no-op on an up-to-date database', () => {
    const file = path.join(tmp(), 'studio.sqlite');
    openDatabase(file).close();
    const db = openDatabase(file);
    expect(migrate(db, file)).toEqual([]);
    db.close();
  });

  it('migration 1 alone creates the schema from version 0', () => {
    const db = new Database(':memory:');
    expect(migrate(db, ':memory:', MIGRATIONS, 1)).toEqual([1]);
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).toContain('runs');
    db.close();
  });

  it('migrations 2 to 6 add the data set registry, run owners, saved splits, run summaries and training time to a version-1 database, keeping its rows', () => {
    const db = new Database(':memory:');
    migrate(db, ':memory:', MIGRATIONS, 1);
    db.prepare("INSERT INTO projects (name, created_at) VALUES ('kept', 1)").run();
    db.prepare("INSERT INTO experiments (project_id, name, kind, created_at) VALUES (1, 'e', 'local-learning', 1)").run();
    db.prepare("INSERT INTO runs (experiment_id, name, kind, status, config, created_at) VALUES (1, 'r', 'local-learning', 'running', '{}', 1)").run();
    db.prepare("INSERT INTO metrics (run_id, scope, key, step, value, at) VALUES (1, 'epoch', 'test_acc', 1, 0.42, 1), (1, 'epoch', 'test_acc', 2, 0.4, 2)").run();
    db.prepare("INSERT INTO runs (experiment_id, name, kind, status, config, created_at, started_at, ended_at) VALUES (1, 'old', 'local-learning', 'done', '{}', 1, 1000, 4000)").run();
    expect(migrate(db, ':memory:', MIGRATIONS, 7)).toEqual([2, 3, 4, 5, 6, 7]);
    // A finished run's training time is its start to end; a running one is running since its start.
    expect(db.prepare('SELECT trained_ms, running_since FROM runs ORDER BY id').all()).toEqual([{ trained_ms: 0, running_since: null }, { trained_ms: 3000, running_since: null }]);
    db.prepare('DELETE FROM runs WHERE id = 2').run();
    // Results recorded before the summary columns existed are filled in.
    expect(db.prepare('SELECT best_test_acc, final_test_acc, final_epoch, modules FROM runs').get()).toEqual({ best_test_acc: 0.42, final_test_acc: 0.4, final_epoch: 2, modules: 1 });
    expect(tables(db)).toContain('datasets');
    expect(tables(db)).toContain('saved_splits');
    expect(db.prepare('SELECT name FROM projects').all()).toEqual([{ name: 'kept' }]);
    // Runs from before owners were recorded have none: no process can claim they are stale.
    expect(db.prepare('SELECT status, owner_pid, owner_host FROM runs').all()).toEqual([{ status: 'running', owner_pid: null, owner_host: null }]);
    db.close();
  });

  it('migration 7 keeps each task run\'s last PSNR, SSIM and mAP on its row (filled in for rows before it, then kept by a trigger)', () => {
    const db = new Database(':memory:');
    migrate(db, ':memory:', MIGRATIONS, 6);
    db.prepare("INSERT INTO projects (name, created_at) VALUES ('p', 1)").run();
    db.prepare("INSERT INTO experiments (project_id, name, kind, created_at) VALUES (1, 'e', 'super-resolution', 1)").run();
    db.prepare("INSERT INTO runs (experiment_id, name, kind, status, config, created_at) VALUES (1, 'sr', 'super-resolution', 'done', '{}', 1)").run();
    db.prepare("INSERT INTO metrics (run_id, scope, key, step, value, at) VALUES (1, 'epoch', 'test_psnr', 2, 30.5, 2), (1, 'epoch', 'test_psnr', 1, 28, 1), (1, 'epoch', 'test_ssim', 2, 0.9, 2)").run();
    expect(migrate(db, ':memory:', MIGRATIONS, 7)).toEqual([7]);
    expect(db.prepare('SELECT final_psnr, final_ssim, final_map FROM runs').get()).toEqual({ final_psnr: 30.5, final_ssim: 0.9, final_map: null });
    // A later epoch replaces the value, an earlier one written again (a resumed run) does not.
    db.prepare("INSERT INTO runs (experiment_id, name, kind, status, config, created_at) VALUES (1, 'det', 'detection', 'running', '{}', 1)").run();
    db.prepare("INSERT INTO metrics (run_id, scope, key, step, value, at) VALUES (2, 'epoch', 'test_map', 1, 0.2, 1), (2, 'epoch', 'test_map50', 1, 0.5, 1), (2, 'epoch', 'test_map', 2, 0.3, 2)").run();
    expect(db.prepare('SELECT final_map, final_map50, final_epoch FROM runs WHERE id = 2').get()).toEqual({ final_map: 0.3, final_map50: 0.5, final_epoch: 2 });
    db.prepare("INSERT OR REPLACE INTO metrics (run_id, scope, key, step, value, at) VALUES (2, 'epoch', 'test_map', 1, 0.25, 3)").run();
    expect(db.prepare('SELECT final_map FROM runs WHERE id = 2').get()).toEqual({ final_map: 0.3 });
    db.close();
  });

  it('refuse a database written by a newer app and leave it untouched', () => {
    const file = path.join(tmp(), 'future.sqlite');
    const raw = new Database(file);
    raw.pragma(`user_version = ${LATEST_VERSION + 1}`);
    raw.close();
    expect(() => openDatabase(file)).toThrow(DatabaseFromFutureError);
    expect(() => openDatabase(file)).toThrow(/newer Blockwise Studio/);
    const check = new Database(file);
    expect(schemaVersion(check)).toBe(LATEST_VERSION + 1);
    expect(tables(check)).toEqual([]);
    check.close();
  });

  it('roll back a migration that fails halfway: no tables, version unchanged', () => {
    const db = new Database(':memory:');
    const broken = [{ version: 1, up: (d: Database.Database) => d.exec('CREATE TABLE half (x); CREATE TABLE half (x);') }];
    expect(() => migrate(db, ':memory:', broken, 1)).toThrow(/already exists/);
    expect(schemaVersion(db)).toBe(0);
    expect(tables(db)).toEqual([]);
    db.close();
  });

  it('reject migrations listed out of order', () => {
    const db = new Database(':memory:');
    const noop = () => {};
    expect(() => migrate(db, ':memory:', [{ version: 2, up: noop }, { version: 1, up: noop }], 2)).toThrow(/out of order/);
    db.close();
  });
});
