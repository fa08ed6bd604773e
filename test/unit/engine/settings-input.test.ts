/** The input settings a run records act on what the network is fed: padding, normalisation, MNIST's split; HPFF's stem apart. */
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../../../main/engine/backend/select';
import { iterateBatches } from '../../../main/data/batches';
import { openMnist } from '../../../main/data/mnist';
import { withInput } from '../../../main/data/preprocess';
import { createResNet } from '../../../main/engine/nets/resnet-model';
import { HpffTrainer } from '../../../main/engine/methods/hpff';
import { PREPROCESSING } from '../../../main/data/preprocess';
import { localLearningJobs } from '../../../main/jobs/local-learning';
import { DatasetCatalog } from '../../../main/data/catalog';
import { Store } from '../../../main/store';

describe('input settings', () => {
  it('pads every image with black pixels and normalises with the run’s mean and std', async () => {
    const mnist = openMnist();
    const padded = withInput(mnist, { pad: 2, normalization: { mean: [0.5], std: [0.5] } });
    expect(padded.shape).toEqual({ height: 32, width: 32, channels: 1 });
    const plain = (await iterateBatches(mnist, 'test', { batchSize: 4, shuffle: false, seed: 0, epoch: 0, augment: false, preprocessing: { normalization: { mean: [0.5], std: [0.5] }, augmentation: null } }).next()).value!;
    const fed = (await iterateBatches(padded, 'test', { batchSize: 4, shuffle: false, seed: 0, epoch: 0, augment: false }).next()).value!;
    for (let n = 0; n < 4; n++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const inside = y >= 2 && y < 30 && x >= 2 && x < 30;
          const value = fed.x[n * 1024 + y * 32 + x]!;
          // Black (0) becomes (0 - 0.5) / 0.5 = -1; inside, the digit as normalised without padding.
          expect(value).toBeCloseTo(inside ? plain.x[n * 784 + (y - 2) * 28 + (x - 2)]! : -1, 6);
        }
      }
    }
    expect(() => withInput(mnist, { pad: 0, normalization: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } })).toThrow('normalisation needs 1 value per mean and std');
  });

  it('splits the built-in MNIST by the run’s seed and test images per class; the recorded default (seed 20261129, 20%) gives the fixed split', () => {
    const fixed = openMnist();
    expect(openMnist({ seed: 20_261_129, testFraction: 0.2 }).splits.test.labels).toEqual(fixed.splits.test.labels);
    expect(fixed.splits.test.length).toBe(2000);
    const ten = openMnist({ seed: 7, testPerClass: 10 });
    expect(ten.splits.test.length).toBe(100);
    expect(ten.splits.train.length).toBe(10_000 - 100);
    expect(Array.from({ length: 10 }, (_, c) => ten.splits.test.labels.filter((l) => l === c).length)).toEqual(Array(10).fill(10));
    expect(() => openMnist({ testPerClass: 900 })).toThrow('digit 5 has 863 images, so it cannot keep 900 for testing');
  });

  it('HPFF trains the stem as its own module when asked, on the same cut list', async () => {
    await selectBackend('wasm');
    const store = Store.open(':memory:');
    try {
      const deps = { store, datasets: new DatasetCatalog(store) };
      const cuts = [[0, 0], [1, 0], [2, 0]];
      const fused = localLearningJobs.configure({ method: 'hpff', split: cuts }, deps);
      const apart = localLearningJobs.configure({ method: 'hpff', split: cuts, hpff: { stem: 'apart' } }, deps);
      expect((fused.modules as { units: string }[]).map((m) => m.units)).toEqual(['stem-1.0', '2.0', '3.0']);
      expect((apart.modules as { units: string }[]).map((m) => m.units)).toEqual(['stem', '1.0', '2.0', '3.0']);
    } finally {
      store.close();
    }
    const model = createResNet(8, { height: 28, width: 28, channels: 1 }, 10, 0);
    const trainer = new HpffTrainer({ model, cuts: [[0, 0], [1, 0], [2, 0]], normalization: PREPROCESSING.mnist.normalization, seed: 0, hpff: { base: 'infopro', stem: 'apart' } });
    expect(trainer.segments.map((units) => units.length)).toEqual([1, 1, 1, 2]); // stem | block | block | block + head
    trainer.dispose();
    model.dispose();
  });
});
