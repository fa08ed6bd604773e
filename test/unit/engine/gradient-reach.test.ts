/**
 * The settings rule that no local module may be left without gradient (shared/engine/gradient-reach.ts):
 * it names exactly the modules whose gradients the real trainers leave all zero on real MNIST
 * digits, and the CLI, the launcher's schema and `runs:start` refuse such settings with it,
 * while every method's default trains ResNet-8 (the MAN λ index defaults to 'module').
 */
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCli } from '../../../main/cli/args';
import { DatasetCatalog } from '../../../main/data/catalog';
import { PREPROCESSING } from '../../../main/data/preprocess';
import { selectBackend } from '../../../main/engine/backend/select';
import { createResNet } from '../../../main/engine/nets/resnet-model';
import { createTrainer } from '../../../main/engine/train/create-trainer';
import { resolveCuts } from '../../../main/engine/train/run-config';
import { localLearningJobs } from '../../../main/jobs/local-learning';
import { Store } from '../../../main/store';
import { TRAINABLE_METHODS, trainConfig, type TrainConfigInput, trainSettings } from '../../../shared/engine/config';
import { starvedModules } from '../../../shared/engine/gradient-reach';
import { splitPresets } from '../../../shared/engine/splits';
import { digits, MNIST_INPUT } from '../../helpers/digits';

/** 1-based numbers of the segments whose every variable's gradient is 0 (or missing) after one real step's gradients. */
function untrainedModules(input: TrainConfigInput, x: tf.Tensor4D, y: tf.Tensor1D): number[] {
  const config = trainSettings.parse(input);
  const model = createResNet(config.depth, MNIST_INPUT, 10, 3);
  const trainer = createTrainer({ model, method: config.method, cuts: resolveCuts(config), normalization: PREPROCESSING.mnist.normalization, seed: 3, settings: config });
  try {
    const { grads, losses } = trainer.computeGradients(x, y);
    const untrained = trainer.segments.flatMap((units, j) => (units.flatMap((u) => u.trainableVariables).every((v) => !grads.get(v) || grads.get(v)!.dataSync().every((g) => g === 0)) ? [j + 1] : []));
    tf.dispose([...grads.values(), ...losses]);
    return untrained;
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

const ruleFor = (input: TrainConfigInput) => {
  const config = trainSettings.parse(input);
  return starvedModules(config, resolveCuts(config))?.modules ?? [];
};

describe('every local module gets a gradient', () => {
  let x: tf.Tensor4D;
  let y: tf.Tensor1D;
  beforeAll(async () => {
    await selectBackend('wasm');
    ({ x, y } = await digits(8));
  });
  afterAll(() => tf.dispose([x, y]));

  it('names exactly the modules the real trainers leave with zero gradients', () => {
    const cases: [TrainConfigInput, number[]][] = [
      // MAN's code reading of the λ index at K = 4: both cuts reach r = 1, weights (0, 0).
      [{ method: 'infopro+man', split: 'per-block', man: { lambdaIndex: 'stage' } }, [1, 2]],
      [{ method: 'infopro+man', split: 'per-block' }, []],
      // The 'module' index reaches r = 1 at the last cut where the split is not one module per block.
      [{ depth: 14, method: 'infopro+man', split: 'k4' }, [3]],
      [{ depth: 14, method: 'dgl+man', split: 'k4', man: { lambdaIndex: 'stage' } }, []],
      // HPFF's first segment learns only from the first cascade, weighted (0, 0) at K = 3.
      [{ depth: 14, method: 'infopro+hpff', split: 'k3' }, [1]],
      [{ method: 'infopro+hpff', split: 'per-block', hpff: { cascadeWeight: 0 } }, [1]],
      [{ method: 'dgl+hpff', split: 'per-block', hpff: { independentWeight: 0, cascadeWeight: 0 } }, [1, 2, 3]],
      [{ method: 'dgl+hpff', split: 'per-block', hpff: { independentWeight: 0 } }, []],
      // InfoPro's end weights (0, 0) land on its last local module.
      [{ method: 'infopro', split: 'per-block', infopro: { lambdas: { ixx1: 1, ixy1: 1, ixx2: 0, ixy2: 0 } } }, [2]],
      [{ method: 'infopro', split: 'per-block' }, []],
    ];
    for (const [input, starved] of cases) {
      expect({ input, rule: ruleFor(input) }).toEqual({ input, rule: starved });
      expect({ input, trainers: untrainedModules(input, x, y) }).toEqual({ input, trainers: starved });
    }
  }, 120_000);

  it("trains every method's defaults on ResNet-8, and refuses a starving setting through the schema, the CLI and runs:start", () => {
    for (const depth of [8, 32]) {
      for (const method of TRAINABLE_METHODS) expect(trainConfig.safeParse({ depth, method, split: 'per-block' }).success).toBe(true);
    }
    for (const split of splitPresets(8).map((p) => p.id)) for (const method of TRAINABLE_METHODS) expect(trainConfig.safeParse({ method, split }).error?.issues ?? []).toEqual([]);
    expect(trainConfig.parse({ method: 'man' }).man.lambdaIndex).toBe('module');

    // HPFF's and MAN's default weights are resolved for the split and stored: the README's where
    // they reach every module, else InfoPro's command values for that K (never ending at (0, 0)).
    const readme = { ixx1: 5, ixy1: 0.5, ixx2: 0, ixy2: 0 };
    expect(trainConfig.parse({ depth: 32, method: 'man', split: 'per-block' }).man.lambdas).toEqual(readme);
    expect(trainConfig.parse({ depth: 32, method: 'man', split: 'k4' }).man.lambdas).toEqual({ ixx1: 6, ixy1: 0, ixx2: 1, ixy2: 2 });
    expect(trainConfig.parse({ depth: 14, method: 'hpff', split: 'k3' }).hpff.lambdas).toEqual({ ixx1: 6, ixy1: 0, ixx2: 1, ixy2: 2 });
    expect(trainConfig.parse({ method: 'man', split: 'per-block', man: { lambdaIndex: 'stage' } }).man.lambdas).toEqual({ ixx1: 6, ixy1: 0, ixx2: 1, ixy2: 2 });

    // Weights the user gives are kept and checked.
    const stage = trainConfig.safeParse({ method: 'man', split: 'per-block', man: { lambdaIndex: 'stage', lambdas: readme } });
    expect(stage.success).toBe(false);
    expect(stage.error!.issues[0]!.path).toEqual(['man', 'lambdaIndex']);
    expect(stage.error!.issues[0]!.message).toMatch(/^InfoPro\+MAN: both λx and λy are 0 for modules 1, 2: .* Use the 'module' λ index \(man\.lambdaIndex "module", --man-lambda module\)/);
    // ResNet-32 K = 4 with the code's reading: the two modules whose next block is in stage 2 or 3.
    expect(trainConfig.safeParse({ depth: 32, method: 'man', split: 'k4', man: { lambdaIndex: 'stage', lambdas: { ixx1: 5, ixy1: 0.5, ixx2: 0, ixy2: 1 } } }).success).toBe(true);
    expect(trainConfig.safeParse({ depth: 32, method: 'man', split: 'k4', man: { lambdaIndex: 'stage', lambdas: readme } }).error!.issues[0]!.message).toContain('for modules 2, 3:');
    expect(trainConfig.safeParse({ method: 'hpff', split: 'per-block', hpff: { cascadeWeight: 0 } }).error!.issues[0]).toMatchObject({ path: ['hpff', 'cascadeWeight'], message: expect.stringContaining('module 1 would get no gradient at all') });
    // A field's own error comes alone: the rule waits for valid fields.
    expect(trainConfig.safeParse({ depth: 9, method: 'man', man: { lambdaIndex: 'stage' } }).error!.issues.map((i) => i.path.join('.'))).toEqual(['depth']);

    // The CLI gives no loss weights: its settings resolve to weights that train, and say which.
    expect(parseCli(['train', '--method', 'man', '--split', 'per-block', '--man-lambda', 'stage']).config.man).toMatchObject({ lambdaIndex: 'stage', lambdas: { ixx1: 6, ixy1: 0, ixx2: 1, ixy2: 2 } });
    expect(parseCli(['train', '--method', 'man', '--split', 'per-block']).config.man.lambdaIndex).toBe('module');

    const store = Store.open(':memory:');
    try {
      const deps = { store, datasets: new DatasetCatalog(store) };
      expect(() => localLearningJobs.configure({ method: 'infopro', split: 'per-block', infopro: { lambdas: { ixx1: 1, ixy1: 1, ixx2: 0, ixy2: 0 } } }, deps)).toThrow(/infopro\.lambdas: InfoPro's loss weights give module 2 λx = 0 and λy = 0/);
      expect(localLearningJobs.configure({ method: 'man', split: 'per-block' }, deps)).toMatchObject({ method: 'infopro+man', man: { lambdaIndex: 'module' } });
    } finally {
      store.close();
    }
  });
});
