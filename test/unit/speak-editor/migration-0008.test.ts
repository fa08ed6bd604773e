/** Migration 8: a version-7 database gains the talking-head projects table, keeping its rows; a state that is not JSON is refused by SQLite itself. */
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS, schemaVersion } from '../../../main/store/migrations';
import { useTempDir } from '../../helpers/temp';

describe('migration 8', () => {
  const tmp = useTempDir();

  it('adds talking_head_projects to a version-7 database, keeping its projects', () => {
    const db = new Database(path.join(tmp(), 'studio.sqlite'));
    migrate(db, 'v7', MIGRATIONS, 7);
    db.prepare('INSERT INTO projects (name, description, created_at) VALUES (?, ?, ?)').run('kept', '', 1);
    expect(migrate(db, 'v7')).toEqual([8]);
    expect(schemaVersion(db)).toBe(8);
    expect(db.prepare('SELECT name FROM projects').all()).toEqual([{ name: 'kept' }]);
    db.prepare('INSERT INTO talking_head_projects (name, state, created_at, updated_at) VALUES (?, ?, 1, 1)').run('A', '{"seed":1}');
    expect(() => db.prepare('INSERT INTO talking_head_projects (name, state, created_at, updated_at) VALUES (?, ?, 1, 1)').run('B', 'not json')).toThrow(/CHECK constraint failed/);
    expect(() => db.prepare('INSERT INTO talking_head_projects (name, state, created_at, updated_at) VALUES (?, ?, 1, 1)').run('a', '{}')).toThrow(/UNIQUE constraint failed/);
    db.close();
  });
});
