/**
 * How runs are named for people: the methods' paper names, and a run's default name, which
 * starts with what usually differs between runs (method, K, seed) so that names cut short in a
 * table or a legend still tell runs apart.
 */

/** The papers' names of the methods, by id (e2e, infopro+hpff...). */
export const METHOD_NAMES: Readonly<Record<string, string>> = {
  e2e: 'End-to-end',
  greedy: 'Greedy SL',
  dgl: 'DGL',
  infopro: 'InfoPro',
  'infopro+hpff': 'InfoPro+HPFF',
  'dgl+hpff': 'DGL+HPFF',
  'infopro+man': 'InfoPro+MAN',
  'dgl+man': 'DGL+MAN',
};

/** A method's paper name; an unknown id is shown as it is. */
export const methodName = (method: string | null | undefined): string => (method ? (METHOD_NAMES[method] ?? method) : '–');

export interface RunNameParts {
  method: string;
  /** Modules as the papers count them: cuts + 1, end-to-end is 1. */
  modules: number;
  seed: number;
  depth: number;
  dataset: string;
}

/** E.g. "InfoPro K=4 seed 1 · ResNet-8 · MNIST": what differs first, the shared context after. */
export function defaultRunName({ method, modules, seed, depth, dataset }: RunNameParts): string {
  const k = method === 'e2e' ? '' : ` K=${modules}`;
  return `${methodName(method)}${k} seed ${seed} · ResNet-${depth} · ${dataset}`.slice(0, 120);
}
