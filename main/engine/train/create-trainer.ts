/**
 * The trainer for a run's method: the base methods share ./local-trainer.ts; HPFF and MAN have
 * their own step and take their base (DGL or InfoPro) from the method id ('infopro+hpff').
 */
import type { TrainConfig, TrainableMethod } from '../../../shared/engine/config';
import type { Cut } from '../../../shared/engine/splits';
import type { Normalization } from '../../data/preprocess';
import { type AddonBase, HpffTrainer } from '../methods/hpff';
import { ManTrainer } from '../methods/man';
import type { ResNetModel } from '../nets/resnet-model';
import { LocalTrainer } from './local-trainer';
import type { Trainer } from './trainer';

export interface CreateTrainerOptions {
  model: ResNetModel;
  method: TrainableMethod;
  cuts: readonly Cut[];
  normalization: Normalization;
  seed: number;
  /** The method options of a run's config; each method reads its own. */
  settings?: Partial<Pick<TrainConfig, 'infopro' | 'hpff' | 'man' | 'execution'>>;
}

export function createTrainer({ model, method, cuts, normalization, seed, settings = {} }: CreateTrainerOptions): Trainer {
  const { execution } = settings;
  const [base, addon] = method.split('+') as [string, 'hpff' | 'man' | undefined];
  const common = { model, cuts, normalization, seed, ...(execution ? { execution } : {}) };
  if (addon === 'hpff') return new HpffTrainer({ ...common, hpff: { ...settings.hpff, base: base as AddonBase } });
  if (addon === 'man') return new ManTrainer({ ...common, man: { ...settings.man, base: base as AddonBase } });
  const infopro = settings.infopro ? { auxConfig: settings.infopro.auxConfig, lossMode: settings.infopro.lossMode, ...(settings.infopro.lambdas ? { lambdas: settings.infopro.lambdas } : {}) } : undefined;
  return new LocalTrainer({ ...common, method: method as 'e2e' | 'greedy' | 'dgl' | 'infopro', ...(infopro ? { infopro } : {}) });
}
