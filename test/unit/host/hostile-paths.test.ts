/**
 * The real studio process (main/start.ts, as `npm start -- --web` runs it) against paths a hostile
 * user gives: an export into /proc or /sys, a NUL byte, a 4,000-character name, a dangling link,
 * a link loop or a FIFO, and a data set "folder" that is a FIFO or a loop, each answered with a
 * plain 400 within seconds, after which the host still answers; a database under /proc or on a
 * read-only file refuses to start, naming the file; the startup line says which host starts and why.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHost, type HostBundle, type HostProcess, runHostToExit, startHost } from '../../helpers/host-process';

/** A reply must come this fast: the hang it guards against never answers at all. */
const ANSWER_MS = 5_000;

let dir: string;
let bundle: HostBundle;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-hostile-'));
  bundle = await buildHost(dir);
}, 60_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function call(host: HostProcess, op: string, input: unknown): Promise<{ status: number; body: { ok: boolean; error?: { message: string }; result?: unknown } }> {
  const response = await fetch(`${host.origin}/api/call/${op}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${host.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(input),
    signal: AbortSignal.timeout(ANSWER_MS),
  });
  return { status: response.status, body: (await response.json()) as never };
}

describe('the web host process given hostile paths', () => {
  let host: HostProcess;
  let work: string;

  beforeAll(async () => {
    work = path.join(dir, 'work');
    fs.mkdirSync(work);
    const db = path.join(dir, 'studio.sqlite');
    // A finished run with saved weights, so an export gets as far as writing its folder.
    const train = spawnSync(process.execPath, [bundle.cli, 'train', '--method', 'e2e', '--epochs', '1', '--batch', '16', '--train-limit', '16', '--test-limit', '16', '--backend', 'wasm', '--db', db], { env: bundle.env, encoding: 'utf8' });
    expect(train.status, train.stderr).toBe(0);
    fs.symlinkSync(path.join(work, 'nowhere'), path.join(work, 'dangling'));
    fs.symlinkSync(path.join(work, 'loop-b'), path.join(work, 'loop-a'));
    fs.symlinkSync(path.join(work, 'loop-a'), path.join(work, 'loop-b'));
    execFileSync('mkfifo', [path.join(work, 'fifo')]);
    host = await startHost(bundle, ['--web', '--no-open', '--port', '0', '--db', db]);
  }, 90_000);

  // SIGKILL: a host spinning in a recursive mkdir ignores SIGTERM.
  afterAll(() => void host?.child.kill('SIGKILL'));

  it.each([
    ['a folder under /proc', () => '/proc/blockwise-export', /^\/proc\/blockwise-export is under \/proc, which holds the kernel's process information, not files you can make/],
    ['a folder under /sys', () => '/sys/blockwise-export', /^\/sys\/blockwise-export is under \/sys, which holds the kernel's device and driver settings/],
    ['a path with a NUL byte', () => `${work}/model\u0000x`, /contains a NUL character, which no file name can hold: retype the path\.$/],
    ['a 4,000-character name', () => `${work}/${'a'.repeat(4000)}`, /has a name of 4000 bytes .*; a name can have at most 255: shorten it\.$/],
    ['a dangling link', () => path.join(work, 'dangling'), /dangling is a symbolic link to .*nowhere, which does not exist: remove the link/],
    ['a symbolic link loop', () => path.join(work, 'loop-a', 'model'), /loop-a is a symbolic link loop/],
    ['a FIFO', () => path.join(work, 'fifo'), /^Cannot export into \/.*\/fifo: it is a named pipe \(FIFO\), not a folder\./],
  ])('refuses an export into %s with a plain 400 at once, and still answers afterwards', async (_label, out, message) => {
    const started = Date.now();
    const reply = await call(host, 'runs:export', { id: 1, out: out() });
    expect(Date.now() - started).toBeLessThan(ANSWER_MS);
    expect(reply.status).toBe(400);
    expect(reply.body.error!.message).toMatch(message);
    // A person's message, not a system error or a stack.
    expect(reply.body.error!.message).not.toMatch(/\bE[A-Z]{3,}\b|Error:|\n\s+at /);
    const info = await call(host, 'app:info', {});
    expect(info.status).toBe(200);
    expect(fs.readdirSync(work).sort()).toEqual(['dangling', 'fifo', 'loop-a', 'loop-b']);
  });

  it.each([
    ['a FIFO', 'fifo', /^Cannot import from \/.*\/fifo: it is a named pipe \(FIFO\), not a folder\./],
    ['a symbolic link loop', 'loop-a', /loop-a is a symbolic link loop/],
  ])('reports a data set folder that is %s as what it is', async (_label, name, message) => {
    const reply = await call(host, 'datasets:inspect', { path: path.join(work, name) });
    expect(reply.status).toBe(400);
    expect(reply.body.error!.message).toMatch(message);
    expect(reply.body.error!.message).not.toContain('does not exist');
  });

  it('answers an export into a folder the system forbids writing in with a plain 400', async () => {
    const locked = path.join(dir, 'locked');
    fs.mkdirSync(locked);
    if (!makeImmutable(locked)) return console.warn('skipped: chattr +i is not available on this file system');
    try {
      const reply = await call(host, 'runs:export', { id: 1, out: path.join(locked, 'model') });
      expect(reply.status).toBe(400);
      expect(reply.body.error!.message).toBe(`Cannot create the export folder ${locked}/model: the system does not allow it there (permissions, or an immutable or system file): choose another folder.`);
    } finally {
      spawnSync('chattr', ['-i', locked]);
    }
    expect(fs.readdirSync(locked)).toEqual([]);
  });

  it('still exports into an ordinary new folder, made level by level', async () => {
    const out = path.join(dir, 'exports', 'deep', 'model');
    const reply = await call(host, 'runs:export', { id: 1, out });
    expect(reply.status).toBe(200);
    expect(fs.readdirSync(out).sort()).toEqual(['card.json', 'group1-shard1of1.bin', 'model.json']);
  });
});

describe('starting the web host process', () => {
  it('refuses a database under /proc within seconds, naming the file', async () => {
    const ended = await runHostToExit(bundle, ['--web', '--no-open', '--port', '0', '--db', '/proc/x/db.sqlite'], 15_000);
    expect(ended.killed).toBe(false);
    expect(ended.ms).toBeLessThan(ANSWER_MS);
    expect(ended.code).toBe(2);
    expect(ended.output).toContain('Blockwise Studio could not start: /proc/x/db.sqlite is under /proc');
  });

  it('names the database file when it is not a database', async () => {
    const db = path.join(dir, 'notes.txt');
    fs.writeFileSync(db, 'these are my notes, not a database\n'.repeat(200));
    const ended = await runHostToExit(bundle, ['--web', '--no-open', '--port', '0', '--db', db], 15_000);
    expect(ended.code).toBe(2);
    expect(ended.output).toContain(`Blockwise Studio could not start: The database ${db} cannot be opened (SQLite: file is not a database): choose another file with --db PATH, or move this one away to start a new database.`);
    expect(fs.readFileSync(db, 'utf8')).toBe('these are my notes, not a database\n'.repeat(200));
  });

  it('says in one calm line which host starts and why, without Electron\'s install error', async () => {
    let electron: unknown;
    try {
      electron = createRequire(import.meta.url)('electron');
    } catch {
      electron = undefined;
    }
    // Where the Electron binary is installed, npm start opens the app instead: nothing to check here.
    if (typeof electron === 'string' && fs.existsSync(electron)) return;
    const host = await startHost(bundle, ['--no-open', '--port', '0', '--db', path.join(dir, 'calm.sqlite')]);
    host.child.kill('SIGKILL');
    const lines = host.output().trim().split('\n');
    expect(lines[0]).toMatch(/^Starting the web host: the Electron app is not installed here \(.+\)\.$/);
    expect(host.output()).not.toMatch(/failed to install correctly|delete node_modules/);
  });
});

/** `chattr +i` makes a file read-only even for root (file modes do not), where the file system supports it. */
function makeImmutable(file: string): boolean {
  return spawnSync('chattr', ['+i', file]).status === 0;
}

describe('a read-only database', () => {
  it('is refused at start, naming the file and what to do, and left unchanged', async () => {
    const db = path.join(dir, 'readonly.sqlite');
    const made = await startHost(bundle, ['--web', '--no-open', '--port', '0', '--db', db]);
    made.child.kill('SIGTERM');
    await new Promise((resolve) => made.child.once('exit', resolve));
    const before = fs.readFileSync(db);
    if (!makeImmutable(db)) {
      console.warn('skipped: chattr +i is not available on this file system, and root ignores file modes');
      return;
    }
    try {
      const ended = await runHostToExit(bundle, ['--web', '--no-open', '--port', '0', '--db', db], 15_000);
      expect(ended.killed).toBe(false);
      expect(ended.code).toBe(2);
      expect(ended.output).toContain(`Blockwise Studio could not start: The database ${db} is read-only: the file is marked immutable or the system forbids writing it. To use it, make it writable (chmod u+w, or chattr -i for an immutable file), or choose another file with --db PATH.`);
      expect(ended.output).not.toMatch(/\n\s+at /);
      expect(fs.readFileSync(db).equals(before)).toBe(true);
    } finally {
      spawnSync('chattr', ['-i', db]);
    }
  });
});
