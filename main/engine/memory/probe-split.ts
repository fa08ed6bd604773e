/**
 * A quick real measurement for the split editor: one training step of the split and one of
 * end-to-end backprop, on one batch of the data set's own images, each under the same probe as
 * every run's figure (measuredStep in ../train/train-run.ts). Runs in a job worker; takes
 * seconds on the CPU backends.
 */
import { trainConfig, type TrainableMethod } from '../../../shared/engine/config';
import type { Cut } from '../../../shared/engine/splits';
import type { BackendId } from '../../../shared/ids';
import { iterateBatches } from '../../data/batches';
import { type DatasetSource, openDatasetSource } from '../../data/catalog';
import { PREPROCESSING } from '../../data/preprocess';
import { selectBackend } from '../backend/select';
import { createResNet } from '../nets/resnet-model';
import { createTrainer } from '../train/create-trainer';
import { SgdNesterov } from '../train/sgd';
import { measuredStep } from '../train/train-run';

export interface SplitProbeRequest {
  depth: number;
  cuts: Cut[];
  method: TrainableMethod;
  execution: 'reference' | 'lean';
  batchSize: number;
  dataset: DatasetSource;
  backend?: BackendId | undefined;
}

export interface SplitProbeResult {
  backend: string;
  /** Peak live bytes of one training step of the split (weights and momentum included). */
  peakBytes: number;
  /** Each module's own peak within that step. */
  modulePeakBytes: number[];
  endToEndPeakBytes: number;
}

export async function probeSplitMemory(request: SplitProbeRequest): Promise<SplitProbeResult> {
  const backend = await selectBackend(request.backend);
  const dataset = await openDatasetSource(request.dataset);
  const batch = (await iterateBatches(dataset, 'train', { batchSize: request.batchSize, shuffle: false, seed: 0, epoch: 0, augment: false, limit: request.batchSize }).next()).value!;
  const measure = async (method: TrainableMethod, cuts: Cut[]) => {
    const model = createResNet(request.depth, dataset.shape, dataset.classes.length, 0);
    const settings = trainConfig.parse({ depth: request.depth, method, execution: request.execution });
    const trainer = createTrainer({ model, method, cuts, normalization: PREPROCESSING[dataset.kind].normalization, seed: 0, settings });
    const sgd = new SgdNesterov({ lr: 0.1 });
    try {
      return (await measuredStep(batch, { model, trainer, sgd })).memory;
    } finally {
      sgd.dispose();
      trainer.dispose();
      model.dispose();
    }
  };
  const split = await measure(request.method, request.cuts);
  const e2e = await measure('e2e', []);
  return { backend: backend.id, peakBytes: split.peakBytes, modulePeakBytes: split.phasePeakBytes, endToEndPeakBytes: e2e.peakBytes };
}
