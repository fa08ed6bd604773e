/**
 * Every protocol setting reachable from the CLI and recorded as the run used it: a real CLI run
 * into a real SQLite file stores exactly the values given; defaults are stored resolved; settings
 * a method does not read are refused, saying so.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCli } from '../../../main/cli/args';
import { DatasetCatalog } from '../../../main/data/catalog';
import { localLearningJobs } from '../../../main/jobs/local-learning';
import { Store } from '../../../main/store';
import { trainConfig } from '../../../shared/engine/config';
import { buildCli } from '../../helpers/cli';
import { useTempDir } from '../../helpers/temp';

describe('settings: reachable and recorded', () => {
  const tmp = useTempDir();

  it('a CLI run with every protocol setting given stores exactly those values, and trains with them', async () => {
    const dir = tmp();
    const { cli, env } = await buildCli(dir);
    const db = path.join(dir, 'studio.sqlite');
    const flags = [
      '--method', 'man', '--net', 'resnet8', '--split', '[[0,0],[1,0],[2,0]]', '--stem', 'apart',
      '--aux', '1c2f', '--lambdas', '4,1,0.5,1', '--ema-decay', '0.99', '--man-bias', 'vector', '--man-lambda', 'module',
      '--pad', '2', '--mean', '0.5', '--std', '0.5', '--split-seed', '7', '--test-per-class', '10',
      '--epochs', '1', '--batch', '16', '--lr', '0.05', '--schedule', 'step', '--warmup', '0', '--seed', '3',
      '--execution', 'lean', '--train-limit', '32', '--no-augment',
    ];
    const train = spawnSync(process.execPath, [cli, 'train', '--db', db, ...flags], { env, encoding: 'utf8' });
    expect(train.stderr).not.toContain('Invalid');
    expect(train.status).toBe(0);

    const store = Store.open(db);
    try {
      const run = store.runs.get(1);
      expect(run.status).toBe('done');
      expect(run.config).toMatchObject({
        method: 'infopro+man', depth: 8, epochs: 1, batchSize: 16, lr: 0.05, schedule: 'step', warmupEpochs: 0, seed: 3, execution: 'lean', trainLimit: 32, augment: false,
        man: { decay: 0.99, bias: 'vector', lambdaIndex: 'module', auxConfig: '1c2f', lambdas: { ixx1: 4, ixy1: 1, ixx2: 0.5, ixy2: 1 }, stem: 'apart' },
        input: { pad: 2, normalization: { mean: [0.5], std: [0.5] } },
        dataSplit: { seed: 7, testPerClass: 10 },
        cuts: [[0, 0], [1, 0], [2, 0]],
      });
      // Exactly those: no other method's option blocks, and what does not apply is said.
      expect(run.config.infopro).toBeUndefined();
      expect(run.config.hpff).toBeUndefined();
      expect(run.config.notApplying).toEqual(['infopro', 'hpff']);
      // The stem trains apart: four modules, each with its net and weights (λ = λ1 (1 - r) + λ2 r, r = i / (K - 2), K = 4).
      expect(run.config.modules).toEqual([
        { module: 1, units: 'stem', aux: 'EMA of the next block + vector bias + 1c2f + decoder', loss: 'cross_entropy', lambdaX: 4, lambdaY: 1 },
        { module: 2, units: '1.0', aux: 'EMA of the next block + vector bias + 1c2f + decoder', loss: 'cross_entropy', lambdaX: 2.25, lambdaY: 1 },
        { module: 3, units: '2.0', aux: 'EMA of the next block + vector bias + 1c2f + decoder', loss: 'cross_entropy', lambdaX: 0.5, lambdaY: 1 },
        { module: 4, units: '3.0', aux: 'the network head', loss: 'cross_entropy' },
      ]);
      // ... and the run trained that way: one loss per module, on the chosen split.
      expect(store.metrics.series(1, 'step').map((s) => s.key).sort()).toEqual(['loss/m0', 'loss/m1', 'loss/m2', 'loss/m3']);
    } finally {
      store.close();
    }
    const evaluated = spawnSync(process.execPath, [cli, 'eval', '1', '--db', db], { env, encoding: 'utf8' });
    expect(evaluated.stdout).toContain('on 100 test images'); // 10 per class
    const exported = spawnSync(process.execPath, [cli, 'export', '1', '--db', db, '--out', path.join(dir, 'model')], { env, encoding: 'utf8' });
    expect(exported.status).toBe(0);
    const card = JSON.parse(fs.readFileSync(path.join(dir, 'model', 'card.json'), 'utf8')) as { inputShape: number[]; normalization: unknown; padding: number };
    expect(card.inputShape).toEqual([32, 32, 1]); // 28 + 2 x 2
    expect(card.padding).toBe(2);
    expect(card.normalization).toEqual({ mean: [0.5], std: [0.5] });
  }, 120_000);

  it('records every default resolved: λ per module, aux net, loss, normalisation, padding, split', () => {
    const store = Store.open(':memory:');
    const deps = { store, datasets: new DatasetCatalog(store) };
    try {
      const infopro = localLearningJobs.configure({ method: 'infopro', depth: 32, split: 'k4' }, deps);
      expect(infopro).toMatchObject({
        infopro: { auxConfig: '1c2f', lossMode: 'contrast', lambdas: { ixx1: 6, ixy1: 0, ixx2: 1, ixy2: 2 } },
        input: { pad: 0, normalization: { mean: [0.1307], std: [0.3081] } },
        dataSplit: { seed: 20_261_129, testFraction: 0.2 },
        notApplying: ['hpff', 'man'],
      });
      // The K = 4 default gives module 1 no classification loss: the record says so.
      expect((infopro.modules as { lambdaY?: number; loss: string }[])[0]).toMatchObject({ lambdaX: 6, lambdaY: 0, loss: 'contrast', aux: '1c2f + decoder' });
      const hpff = localLearningJobs.configure({ method: 'hpff', depth: 8, split: 'per-block' }, deps);
      expect(hpff).toMatchObject({ hpff: { pff: 'code', auxConfig: '2c2f', stem: 'fused', lambdas: { ixx1: 5, ixy1: 0.5, ixx2: 0, ixy2: 0 } } });
      expect(hpff.infopro).toBeUndefined(); // its nets use cross-entropy: no infopro.lossMode recorded
      expect((hpff.modules as { loss: string }[]).every((m) => m.loss === 'cross_entropy')).toBe(true);
      const dglHpff = localLearningJobs.configure({ method: 'dgl+hpff', depth: 8, split: 'per-block' }, deps);
      expect(dglHpff.hpff).toEqual({ pff: 'none', independentWeight: 0.001, cascadeWeight: 0.999, stem: 'fused' });
      expect(dglHpff.notApplying).toEqual(['infopro', 'hpff.auxConfig', 'man']);
      // A record read back and launched again gives the same record.
      const again = localLearningJobs.configure({ ...Object.fromEntries(Object.entries(hpff).filter(([k]) => !['cuts', 'modules', 'notApplying'].includes(k))) }, deps);
      expect(again).toEqual(hpff);
    } finally {
      store.close();
    }
  });

  it('refuses settings the method does not read, saying which and why', () => {
    const refused = (args: string[]) => () => parseCli(['train', ...args]);
    expect(refused(['--method', 'hpff', '--loss', 'softmax'])).toThrow(/--loss \(infopro\.lossMode\): InfoPro\+HPFF's auxiliary nets .* always train with cross-entropy/);
    expect(refused(['--method', 'hpff', '--loss', 'contrast'])).toThrow('--loss (infopro.lossMode)');
    expect(refused(['--method', 'dgl+hpff', '--pff', 'code'])).toThrow(/--pff \(hpff\.pff\): .*a DGL base does not have: use "paper" .* or "none"/);
    expect(refused(['--method', 'dgl+man', '--aux', '2c2f'])).toThrow(/--aux \(man\.auxConfig\): DGL\+MAN's local nets are DGL heads/);
    expect(refused(['--method', 'greedy', '--lambdas', '1,1,1,1'])).toThrow('--lambdas (infopro.lambdas): Greedy SL has no InfoPro auxiliary nets');
    expect(refused(['--method', 'infopro', '--stem', 'apart'])).toThrow("--stem (hpff.stem): hpff.stem is HPFF's setting");
    expect(refused(['--dataset', 'ds-1', '--split-seed', '3'])).toThrow('applies to the built-in MNIST only');
    expect(refused(['--lambdas', '1,2,3'])).toThrow('--lambdas takes 4 comma-separated numbers');
    expect(refused(['--mean', '0.5'])).toThrow('--mean and --std go together');
    // The API and the launcher send whole option blocks: a value other than the default is refused there.
    const api = trainConfig.safeParse({ method: 'infopro+hpff', infopro: { lossMode: 'cross_entropy' } });
    expect(api.success).toBe(false);
    expect(api.error!.issues[0]!.path).toEqual(['infopro', 'lossMode']);
    const store = Store.open(':memory:');
    try {
      const deps = { store, datasets: new DatasetCatalog(store) };
      expect(() => localLearningJobs.configure({ method: 'dgl+man', man: { lambdaIndex: 'stage' } }, deps)).toThrow('man.lambdaIndex');
      expect(() => localLearningJobs.configure({ method: 'infopro', input: { normalization: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } } }, deps)).toThrow('MNIST has 1 channel, so mean and std need 1 value each (got 3)');
    } finally {
      store.close();
    }
  });
});
