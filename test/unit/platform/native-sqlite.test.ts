/**
 * The second better-sqlite3 build that `npm start` makes for Electron, exercised for real with
 * this Node.js as the target runtime (Electron's headers cannot be downloaded here): the
 * prebuilt download fails offline, the compile fallback builds into the cache, and the binary
 * loads through better-sqlite3's nativeBinding option, as Electron's main process loads it.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ensureSqliteBinding, sqliteBindingPath } from '../../../main/platform/native-sqlite';
import { APP_ROOT } from '../../../main/platform/app-root';
import { useTempDir } from '../../helpers/temp';

describe('better-sqlite3 build for another runtime', () => {
  const tmp = useTempDir();

  it('builds once into the cache and loads through nativeBinding', { timeout: 600_000 }, () => {
    const cacheRoot = tmp();
    const target = { runtime: 'node' as const, version: process.versions.node };
    const messages: string[] = [];
    const binding = ensureSqliteBinding(target, { appRoot: APP_ROOT, cacheRoot, log: (m) => messages.push(m) });
    expect(binding).toBe(sqliteBindingPath(cacheRoot, target));
    expect(messages[0]).toMatch(/Preparing better-sqlite3 for node/);
    const db = new Database(':memory:', { nativeBinding: binding });
    expect(db.prepare('SELECT 6 * 7 AS answer').get()).toEqual({ answer: 42 });
    db.close();

    const built = fs.statSync(binding).mtimeMs;
    expect(ensureSqliteBinding(target, { appRoot: APP_ROOT, cacheRoot })).toBe(binding);
    expect(fs.statSync(binding).mtimeMs).toBe(built);
    expect(fs.readdirSync(path.dirname(binding))).toEqual(['better_sqlite3.node']);
  });

  it('says what failed when there is nothing to build from', () => {
    expect(() => ensureSqliteBinding({ runtime: 'electron', version: '41.7.1' }, { appRoot: tmp(), cacheRoot: tmp() })).toThrow(/sources are not in .*run npm install first/);
  });
});
