/** Every on-disk format the studio reads, in the order detection tries them (the generic image folder last). */
import type { DatasetKind } from '../../shared/ids';
import { cifar10Format } from './cifar10';
import { imageFolderFormat } from './imagefolder';
import { stl10Format } from './stl10';
import { svhnFormat } from './svhn';
import type { DatasetFormat } from './types';

export type FolderKind = Exclude<DatasetKind, 'mnist'>;

export const FORMATS: Readonly<Record<FolderKind, DatasetFormat>> = {
  cifar10: cifar10Format,
  svhn: svhnFormat,
  stl10: stl10Format,
  imagefolder: imageFolderFormat,
};

export const FORMAT_HINTS: Readonly<Record<FolderKind, string>> = {
  cifar10: 'CIFAR-10 binary version: data_batch_1.bin … data_batch_5.bin and test_batch.bin',
  svhn: 'SVHN cropped digits: train_32x32.mat and test_32x32.mat',
  stl10: 'STL-10 binary: train_X.bin, train_y.bin, test_X.bin, test_y.bin',
  imagefolder: 'an image folder: one sub-folder of JPEG/PNG images per class, optionally inside train/ and val/',
};

export function detectFormat(dir: string): FolderKind | undefined {
  return (Object.keys(FORMATS) as FolderKind[]).find((kind) => FORMATS[kind].detect(dir));
}
