/** A whole training run on real MNIST digits, recorded in a real SQLite file, and the `blockwise` CLI that drives it. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCli } from '../../../main/cli/args';
import { DatasetCatalog } from '../../../main/data/catalog';
import fs from 'node:fs';
import { buildCli } from '../../helpers/cli';
import { resolveCuts, runDir } from '../../../main/engine/train/run-config';
import { evaluateRun, runTraining } from '../../../main/engine/train/run-training';
import { loadWeights } from '../../../main/engine/train/weights';
import { createResNet } from '../../../main/engine/nets/resnet-model';
import { Store } from '../../../main/store';
import { trainConfig } from '../../../shared/engine/config';
import { useTempDir } from '../../helpers/temp';

describe('training runs', () => {
  const tmp = useTempDir();

  it('train greedy ResNet-8 on MNIST and record losses per module, accuracy, memory and environment', async () => {
    const store = Store.open(path.join(tmp(), 'studio.sqlite'));
    const project = store.projects.create({ name: 'p' });
    const experiment = store.projects.createExperiment({ projectId: project.id, name: 'e', kind: 'local-learning' });
    const config = trainConfig.parse({ method: 'greedy', split: 'per-block', epochs: 2, batchSize: 32, trainLimit: 96, testLimit: 128, backend: 'wasm' });
    const progress: number[] = [];
    const result = await runTraining({ store, datasets: new DatasetCatalog(store) }, config, { experimentId: experiment.id, name: 'greedy run' }, (p) => progress.push(p.step));
    expect(progress).toEqual([1, 2, 3, 1, 2, 3]);
    const run = store.runs.get(result.runId);
    expect(run).toMatchObject({ status: 'done', name: 'greedy run', seed: 0, environment: { backend: 'wasm' } });
    // Which build of the SIMD kernels trained it: results may differ in the last bits between the two.
    expect(['relaxed', 'plain']).toContain(run.environment!.versions.wasmKernels);
    expect(run.config).toMatchObject({ method: 'greedy', cuts: [[1, 0], [2, 0]] });
    const series = store.metrics.series(result.runId);
    expect(series.filter((s) => s.scope === 'step').map((s) => s.key)).toEqual(['loss/m0', 'loss/m1', 'loss/m2']);
    expect(series.find((s) => s.key === 'loss/m0')!.steps).toEqual([1, 2, 3, 4, 5, 6]);
    const acc = series.find((s) => s.key === 'test_acc')!;
    expect(acc.steps).toEqual([1, 2]);
    expect(acc.values.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(result.bestTestAccuracy).toBe(Math.max(...acc.values));
    // The step's peak, then each module's peak within it (the highest of them is the step's).
    const memory = store.metrics.memory(result.runId);
    expect(memory.map((m) => m.module)).toEqual([null, 0, 1, 2]);
    expect(memory[0]).toMatchObject({ step: 0, method: 'tf.profile peakBytes', peakBytes: result.peakBytes });
    expect(Math.max(...memory.slice(1).map((m) => m.peakBytes))).toBe(result.peakBytes);
    expect(result.peakBytes).toBeGreaterThan(1e6);

    // The trained network is saved beside the database and evaluates to the accuracy the run recorded.
    const dir = runDir(store.path, result.runId);
    expect(store.metrics.artifacts(result.runId)).toEqual([expect.objectContaining({ kind: 'weights', path: dir })]);
    expect(fs.readdirSync(dir).sort()).toEqual(['weights.bin', 'weights.json']);
    const evaluated = await evaluateRun({ store, datasets: new DatasetCatalog(store) }, result.runId);
    expect(evaluated).toEqual({ accuracy: acc.values.at(-1), images: 128 });
    const other = createResNet(14, { height: 28, width: 28, channels: 1 }, 10, 0);
    expect(() => loadWeights(other, dir)).toThrow(/holds ResNet-8 weights for 10 classes .* the model is ResNet-14/);
    other.dispose();
    store.runs.setStatus(store.runs.create({ experimentId: experiment.id, name: 'unfinished', kind: 'local-learning', config: {} }).id, 'failed');
    await expect(evaluateRun({ store, datasets: new DatasetCatalog(store) }, 2)).rejects.toThrow('Run 2 has no saved weights (status failed)');
    store.close();
  });

  it('refuse an unknown data set before any run is recorded', async () => {
    const store = Store.open(path.join(tmp(), 'studio.sqlite'));
    const project = store.projects.create({ name: 'p' });
    const experiment = store.projects.createExperiment({ projectId: project.id, name: 'e', kind: 'local-learning' });
    const config = trainConfig.parse({ dataset: 'ds-42', backend: 'wasm' });
    await expect(runTraining({ store, datasets: new DatasetCatalog(store) }, config, { experimentId: experiment.id, name: 'x' })).rejects.toThrow('No data set with id 42');
    expect(store.runs.list({ limit: 10, offset: 0 }).total).toBe(0);
    store.close();
  });

  it('resolve split presets and explain unknown ones', () => {
    expect(resolveCuts(trainConfig.parse({ depth: 32, split: 'k4' }))).toEqual([[1, 2], [2, 1], [3, 0]]);
    expect(() => resolveCuts(trainConfig.parse({ split: 'k99' }))).toThrow('Split "k99" is not a preset of ResNet-8: choose one of k1, k2, k3, k4, per-block, or give a cut list');
    expect(() => resolveCuts(trainConfig.parse({ split: [[1, 9]] }))).toThrow('Cut [1, 9] does not exist in ResNet-8');
  });
});

describe('blockwise CLI', () => {
  const tmp = useTempDir();

  it('parses flags into a validated config and rejects bad ones with the fix', () => {
    const cli = parseCli(['train', '--net', 'resnet20', '--method', 'infopro', '--loss', 'softmax', '--split', '[[1,0],[2,1]]', '--epochs', '3', '--db', 'x.sqlite']);
    expect(cli).toMatchObject({ command: 'train', db: 'x.sqlite', config: { depth: 20, method: 'infopro', split: [[1, 0], [2, 1]], epochs: 3, infopro: { lossMode: 'cross_entropy', auxConfig: '1c2f' } } });
    expect(() => parseCli(['train', '--net', 'vgg16'])).toThrow('--net must look like resnet8');
    expect(() => parseCli(['train', '--net', 'resnet18'])).toThrow('depth: must be one of 8, 14, 20, 32, 56, 110');
    expect(() => parseCli(['train', '--method', 'hebbian'])).toThrow('method: Invalid option');
    expect(() => parseCli(['train', '--epochs', 'many'])).toThrow('--epochs must be a number');
    expect(() => parseCli(['fly'])).toThrow('Unknown command "fly"');
    const addon = parseCli(['train', '--method', 'MAN', '--split', '4', '--aux', '1c2f', '--ema-decay', '0.99', '--man-bias', 'vector', '--execution', 'lean']).config;
    expect(addon).toMatchObject({ method: 'infopro+man', split: 'k4', execution: 'lean', man: { decay: 0.99, bias: 'vector', lambdaIndex: 'module', auxConfig: '1c2f' } });
    expect(parseCli(['train', '--method', 'dgl+hpff', '--pff', 'paper']).config).toMatchObject({ method: 'dgl+hpff', hpff: { pff: 'paper', independentWeight: 0.001, cascadeWeight: 0.999 } });
    expect(() => parseCli(['train', '--pff', 'quadrants'])).toThrow('--pff (hpff.pff): Invalid option');
    expect(() => parseCli(['train', '--ema-decay', '1.5'])).toThrow('man.decay');
  });

  it('trains into the database the studio reads and prints the result', async () => {
    const dir = tmp();
    const { cli, env } = await buildCli(dir);
    const db = path.join(dir, 'studio.sqlite');
    const train = spawnSync(process.execPath, [cli, 'train', '--db', db, '--method', 'hpff', '--split', '4', '--epochs', '1', '--batch', '32', '--train-limit', '64', '--test-limit', '64'], { env, encoding: 'utf8' });
    expect(train.stderr).toContain('epoch 1/1 step 2/2');
    expect(train.stdout).toMatch(/^run 1: test accuracy \d+\.\d\d% \(best \d+\.\d\d%\), peak memory [\d.]+ MiB \(tf\.profile\), backend wasm/);
    expect(train.status).toBe(0);
    const trainedAccuracy = /test accuracy (\d+\.\d\d)%/.exec(train.stdout)![1];
    const evaluated = spawnSync(process.execPath, [cli, 'eval', '1', '--db', db], { env, encoding: 'utf8' });
    expect(evaluated.stdout.trim()).toBe(`run 1: test accuracy ${trainedAccuracy}% on 64 test images`);
    const runs = spawnSync(process.execPath, [cli, 'runs', '--db', db], { env, encoding: 'utf8' });
    expect(runs.stdout).toContain('done        InfoPro+HPFF K=4 seed 0 · ResNet-8 · mnist');
    const bad = spawnSync(process.execPath, [cli, 'train', '--db', db, '--split', 'k99'], { env, encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('Split "k99" is not a preset of ResNet-8');
  });
});
