/**
 * A run whose training process dies while this studio stays open: the real `blockwise` CLI
 * trains into the same SQLite file as a child process and is killed with SIGKILL mid-run. The
 * open job manager finds the dead owner when the user acts (cancel) and by itself within
 * seconds (announcing the change), and the run then cancels and resumes to the accuracy and
 * weights of an uninterrupted run.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DatasetCatalog } from '../../../main/data/catalog';
import { runDir } from '../../../main/engine/train/run-config';
import { JobManager, type JobUpdate } from '../../../main/jobs/job-manager';
import { createStudio, type Studio } from '../../../main/studio';
import { Store } from '../../../main/store';
import { buildCli } from '../../helpers/cli';
import { useTempDir } from '../../helpers/temp';

// Five steps an epoch, so the kill after epoch 1's checkpoint lands while training goes on.
const CONFIG = { method: 'dgl', split: 'per-block', epochs: 3, batchSize: 32, trainLimit: 160, testLimit: 64, backend: 'wasm' } as const;
const FLAGS = ['--method', 'dgl', '--split', 'per-block', '--epochs', '3', '--batch', '32', '--train-limit', '160', '--test-limit', '64', '--backend', 'wasm'];

const children: ChildProcess[] = [];
const managers: JobManager[] = [];
const stores: Store[] = [];
const studios: Studio[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const jobs of managers.splice(0)) await jobs.close();
  for (const store of stores.splice(0)) store.close();
  for (const studio of studios.splice(0)) await studio.close();
});

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Start the CLI on the database and SIGKILL it once it trains `runId` (or its new run) past a checkpoint. */
async function killMidRun(cli: string, env: NodeJS.ProcessEnv, args: string[], store: Store, runId: number | null): Promise<number> {
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const id = await until(`the CLI (pid ${child.pid}) to train past a checkpoint; its stderr: ${stderr}`, () => {
    if (child.exitCode !== null) throw new Error(`The CLI ended before it was killed: ${stderr}`);
    const run = runId === null ? store.runs.list({ limit: 1, offset: 0 }).runs[0] : store.runs.get(runId);
    if (!run || run.status !== 'running' || store.runs.owner(run.id)?.pid !== child.pid) return undefined;
    return fs.existsSync(path.join(runDir(store.path, run.id), 'checkpoint.json')) && run.id;
  });
  child.kill('SIGKILL');
  await exited;
  return id;
}

const testAccuracies = (store: Store, runId: number) => store.metrics.series(runId, 'epoch').find((s) => s.key === 'test_acc')?.values ?? [];
const weights = (store: Store, runId: number) => fs.readFileSync(path.join(runDir(store.path, runId), 'weights.bin'));

describe('a run whose training process died while the studio stays open', () => {
  const tmp = useTempDir();

  it('is found interrupted on cancel and within seconds on its own, then cancels and resumes to the uninterrupted result', async () => {
    const dir = tmp();
    const { cli, env } = await buildCli(dir);
    const db = path.join(dir, 'studio.sqlite');
    const store = Store.open(db);
    stores.push(store);
    // This "studio" checks owners only when asked: the first kill is found by the user's Cancel.
    const jobs = new JobManager({ store, datasets: new DatasetCatalog(store), ownerCheckMs: 3_600_000 });
    managers.push(jobs);

    const killed = await killMidRun(cli, env, ['train', '--db', db, ...FLAGS], store, null);
    expect(store.runs.get(killed).status).toBe('running'); // what the studio showed until a restart
    const cancelled = jobs.cancel(killed);
    expect(cancelled).toMatchObject({ id: killed, status: 'cancelled' });

    // Killed again while the CLI resumes it; a manager that checks every 100 ms finds it by itself and says so.
    await killMidRun(cli, env, ['resume', String(killed), '--db', db], store, killed);
    expect(store.runs.get(killed).status).toBe('running');
    const watcher = new JobManager({ store, datasets: new DatasetCatalog(store), ownerCheckMs: 100 });
    managers.push(watcher);
    const updates: JobUpdate[] = [];
    watcher.subscribe((update) => updates.push(update));
    const announced = await until('the periodic owner check', () => updates.find((u) => u.type === 'run' && u.runId === killed), 10_000);
    expect(announced.type === 'run' && announced.run).toMatchObject({ status: 'interrupted', error: expect.stringMatching(/^The process training it \(pid \d+\) stopped before it finished; resume it/) });
    await watcher.close(); // both managers queue as this process: one is enough from here

    expect(jobs.resume(killed).status).toBe('queued');
    const resumed = await jobs.wait(killed);
    expect([resumed.run.status, resumed.run.error]).toEqual(['done', null]);

    const whole = jobs.submit({ experimentId: resumed.run.experimentId, name: 'uninterrupted', kind: 'local-learning', config: CONFIG }).id;
    expect((await jobs.wait(whole)).run.status).toBe('done');
    expect(testAccuracies(store, killed)).toHaveLength(3);
    expect(testAccuracies(store, killed)).toEqual(testAccuracies(store, whole));
    expect(weights(store, killed).equals(weights(store, whole))).toBe(true);
  }, 300_000);

  it('says which process trains a run it cannot stop, instead of contradicting itself', () => {
    const dir = tmp();
    const store = Store.open(path.join(dir, 'studio.sqlite'));
    stores.push(store);
    const jobs = new JobManager({ store, datasets: new DatasetCatalog(store) });
    managers.push(jobs);
    const project = store.projects.create({ name: 'p' });
    const experimentId = store.projects.createExperiment({ projectId: project.id, name: 'e', kind: 'local-learning' }).id;
    // A run another live process (this test's parent, never a JobManager) trains.
    const run = store.runs.create({ experimentId, name: 'elsewhere', kind: 'local-learning', config: {} });
    store.runs.claim(run.id, { pid: process.ppid, host: os.hostname() });
    store.runs.setStatus(run.id, 'running');
    expect(() => jobs.cancel(run.id)).toThrow(`Run ${run.id} is training in another process (pid ${process.ppid} on this computer). Stop it there (Ctrl+C in its terminal, or Cancel in that studio).`);
    expect(() => jobs.resume(run.id)).toThrow(`Run ${run.id} is training in another process (pid ${process.ppid} on this computer). Resume it after it stops.`);
    expect(jobs.releaseDeadOwners()).toEqual([]);
    expect(store.runs.get(run.id).status).toBe('running');
  });

  it('lets the studio delete, cancel and resume runs a process that exited left running, announcing each change', async () => {
    const studio = createStudio({ host: 'web', dbPath: path.join(tmp(), 'studio.sqlite') });
    studios.push(studio);
    const { store } = studio;
    const changed: number[] = [];
    studio.subscribe((event) => event.name === 'runs:changed' && changed.push(event.payload.runId));
    // A real process that has ended: its pid is free (the studio started before it, so nothing was recovered at start).
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const deadPid = Number(gone.stdout.trim());
    const project = store.projects.create({ name: 'p' });
    const experimentId = store.projects.createExperiment({ projectId: project.id, name: 'e', kind: 'local-learning' }).id;
    const orphan = (name: string) => {
      const run = store.runs.create({ experimentId, name, kind: 'local-learning', config: {} });
      store.runs.claim(run.id, { pid: deadPid, host: os.hostname() });
      store.runs.setStatus(run.id, 'running');
      return run.id;
    };
    // Each act finds the dead owner itself: the run is orphaned just before it.
    const deleted = orphan('delete me');
    expect(await studio.dispatch('runs:delete', { ids: [deleted] })).toEqual({ ok: true, result: { deleted: 1 } });
    expect(changed).toContain(deleted);
    const cancelled = orphan('cancel me');
    expect(await studio.dispatch('runs:cancel', { id: cancelled })).toMatchObject({ ok: true, result: { id: cancelled, status: 'cancelled' } });
    expect(changed).toContain(cancelled);
    // Found interrupted on the way; it never reached a checkpoint, so Resume says so (not "is running").
    const resumed = orphan('resume me');
    expect(await studio.dispatch('runs:resume', { id: resumed })).toMatchObject({ ok: false, error: { code: 'conflict', message: `Run ${resumed} has no checkpoint: it stopped before its first epoch ended. Train it again instead.` } });
    expect(store.runs.get(resumed).status).toBe('interrupted');
    expect(changed).toContain(resumed);
  });
});
