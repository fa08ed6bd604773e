/**
 * The data a run trains and is measured on: its data set opened with the run's train/test split
 * (the built-in MNIST), padded and normalised as its settings say. Training, evaluation, the run
 * page's confusion matrix and export all open it here, so they see the same images.
 */
import type { TrainConfig } from '../../../shared/engine/config';
import { type DatasetSource, openDatasetSource } from '../../data/catalog';
import { type InputSettings, PREPROCESSING, withInput } from '../../data/preprocess';
import type { Dataset } from '../../data/types';
import type { DatasetKind } from '../../../shared/ids';

/** A run's padding and normalisation, its data set kind's defaults filled in. */
export function resolvedInput(config: Pick<TrainConfig, 'input'>, kind: DatasetKind): InputSettings {
  const normalization = config.input.normalization ?? PREPROCESSING[kind].normalization;
  return { pad: config.input.pad ?? 0, normalization: { mean: [...normalization.mean], std: [...normalization.std] } };
}

export async function openRunDataset(source: DatasetSource, config: Pick<TrainConfig, 'input' | 'dataSplit'>): Promise<Dataset> {
  const dataset = await openDatasetSource(source.kind === 'mnist' ? { ...source, split: config.dataSplit } : source);
  return withInput(dataset, resolvedInput(config, dataset.kind));
}
