/** Small display helpers shared by views. */

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

export const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

export const DATASET_KIND_LABELS: Record<string, string> = {
  mnist: 'MNIST',
  cifar10: 'CIFAR-10',
  svhn: 'SVHN',
  stl10: 'STL-10',
  imagefolder: 'Image folder',
};
