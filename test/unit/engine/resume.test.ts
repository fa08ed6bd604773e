/**
 * Checkpoints and resume on real MNIST digits in a real SQLite file: a run stopped after its
 * first epoch (by an error in-process, or by kill -9 of the CLI) resumes from its end-of-epoch
 * checkpoint and ends bit for bit where an uninterrupted run with the same seed ends, with every
 * metric committed before the stop kept.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatasetCatalog } from '../../../main/data/catalog';
import { buildCli } from '../../helpers/cli';
import { runDir } from '../../../main/engine/train/run-config';
import { resumeTraining, runTraining } from '../../../main/engine/train/run-training';
import { isProcessAlive } from '../../../main/platform/process-owner';
import { Store } from '../../../main/store';
import { trainConfig } from '../../../shared/engine/config';
import { useTempDir } from '../../helpers/temp';

// MAN keeps state outside the network (EMA copies, auxiliary BatchNorm statistics, momentum): all must survive.
const CONFIG = { method: 'infopro+man', man: { lambdaIndex: 'module' }, split: 'per-block', epochs: 3, batchSize: 32, trainLimit: 96, testLimit: 128, backend: 'wasm' } as const;

function setUp(dir: string) {
  const store = Store.open(path.join(dir, 'studio.sqlite'));
  const project = store.projects.create({ name: 'p' });
  const experiment = store.projects.createExperiment({ projectId: project.id, name: 'e', kind: 'local-learning' });
  return { store, deps: { store, datasets: new DatasetCatalog(store) }, experimentId: experiment.id };
}

const weightsOf = (store: Store, runId: number) => fs.readFileSync(path.join(runDir(store.path, runId), 'weights.bin'));
const accuracies = (store: Store, runId: number) => store.metrics.series(runId).find((s) => s.key === 'test_acc')!.values;

describe('resume', () => {
  const tmp = useTempDir();

  it('continues a run stopped after epoch 1 to exactly the uninterrupted result', async () => {
    const { store, deps, experimentId } = setUp(tmp());
    const config = trainConfig.parse(CONFIG);
    const whole = await runTraining(deps, config, { experimentId, name: 'whole' });
    await expect(
      runTraining(deps, config, { experimentId, name: 'stopped' }, (p) => {
        if (p.epoch === 2 && p.step === 2) throw new Error('power cut');
      }),
    ).rejects.toThrow('power cut');
    const stopped = whole.runId + 1;
    expect(store.runs.get(stopped)).toMatchObject({ status: 'failed', error: 'power cut' });
    expect(accuracies(store, stopped)).toEqual(accuracies(store, whole.runId).slice(0, 1));
    const resumed = await resumeTraining(deps, stopped);
    expect(store.runs.get(stopped).status).toBe('done');
    expect(resumed.testAccuracy).toBe(whole.testAccuracy);
    expect(accuracies(store, stopped)).toEqual(accuracies(store, whole.runId));
    expect(weightsOf(store, stopped).equals(weightsOf(store, whole.runId))).toBe(true);
    await expect(resumeTraining(deps, stopped)).rejects.toThrow(`Run ${stopped} finished training; there is nothing to resume.`);
    store.close();
  }, 240_000);

  it('refuses a run that stopped before its first checkpoint, saying what to do', async () => {
    const { store, deps, experimentId } = setUp(tmp());
    await expect(
      runTraining(deps, trainConfig.parse(CONFIG), { experimentId, name: 'early' }, () => {
        throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    await expect(resumeTraining(deps, 1)).rejects.toThrow('Run 1 has no checkpoint: it stopped before its first epoch ended. Train it again instead.');
    store.close();
  });

  it('resumes a CLI run killed with SIGKILL, keeping what it committed, to the uninterrupted accuracy', async () => {
    const dir = tmp();
    const { cli, env } = await buildCli(dir);
    const db = path.join(dir, 'studio.sqlite');
    const args = ['train', '--db', db, '--method', 'dgl', '--split', 'per-block', '--epochs', '3', '--batch', '32', '--train-limit', '96', '--test-limit', '128', '--backend', 'wasm'];
    const whole = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
    expect(whole.status, whole.stderr).toBe(0);
    const wholeAccuracy = /test accuracy (\d+\.\d\d)%/.exec(whole.stdout)![1];

    const child = spawn(process.execPath, [cli, ...args], { env, stdio: 'ignore' });
    const checkpoint = path.join(runDir(db, 2), 'checkpoint.json');
    const deadline = Date.now() + 120_000;
    while (!fs.existsSync(checkpoint) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const store = Store.open(db);
    // Killed mid-run: left running with epoch 1's metrics committed, until a process sees its owner is gone.
    expect(store.runs.get(2).status).toBe('running');
    expect(store.metrics.series(2).find((s) => s.key === 'test_acc')!.steps[0]).toBe(1);
    expect(store.runs.recoverInterrupted(os.hostname(), isProcessAlive)).toEqual([2]);
    expect(store.runs.get(2)).toMatchObject({ status: 'interrupted', error: expect.stringContaining(`(pid ${child.pid}) stopped before it finished`) });
    store.close();

    const resumed = spawnSync(process.execPath, [cli, 'resume', '2', '--db', db], { env, encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('Resuming run 2');
    expect(resumed.stdout).toMatch(new RegExp(`^run 2: test accuracy ${wholeAccuracy}%`));
  }, 240_000);
});
