/**
 * The launcher's values as remembered between openings and restarts: the defaults, and the saved
 * values read back over them (pure, so it is tested without a browser).
 */
import type { TrainableMethod } from '../../../shared/engine/config';

export const LAUNCHER_KEY = 'blockwise.launcher';

export function launcherDefaults() {
  return {
    dataset: 'mnist',
    method: 'infopro' as TrainableMethod,
    epochs: 1,
    batchSize: 64,
    lr: 0.1,
    schedule: 'cosine-steps' as 'cosine-steps' | 'cosine' | 'step',
    warmupEpochs: 0,
    seeds: '0',
    backend: 'auto',
    trainLimit: null as number | null,
    testLimit: null as number | null,
    execution: 'reference' as 'reference' | 'lean',
    augment: true,
    stages: 1,
    /** Data-parallel worker threads; blank: every core (the engine resolves and records it). */
    workers: null as number | null,
    infopro: { auxConfig: '1c2f', lossMode: 'contrast' as 'contrast' | 'cross_entropy' },
    hpff: { pff: 'code' as 'code' | 'paper' | 'none', independentWeight: 0.001, cascadeWeight: 0.999, auxConfig: '2c2f' },
    man: { decay: 0.995, bias: 'block' as 'block' | 'vector' | 'none', lambdaIndex: 'module' as 'stage' | 'module', auxConfig: '2c2f' },
    /** HPFF's and MAN's stem: fused into the first segment (their code) or its own module. */
    stem: 'fused' as 'fused' | 'apart',
    /** Zero pixels on every side, and per-channel normalisation as comma lists ('' keeps the data set's). */
    input: { pad: 0, mean: '', std: '' },
    /** The built-in MNIST's split (blank: the fixed default). */
    dataSplit: { seed: null as number | null, testPerClass: null as number | null },
    /** λ schedule override; all four blank keeps the method's default. */
    lambdas: { ixx1: null as number | null, ixy1: null as number | null, ixx2: null as number | null, ixy2: null as number | null },
    withBaseline: true,
    sweepMethods: [] as TrainableMethod[],
    experiment: null as number | null,
    name: '',
  };
}
export type LauncherForm = ReturnType<typeof launcherDefaults>;

/** What is not remembered: the run name is per launch. */
const FORGOTTEN = ['name'] as const;

/** Saved values over the defaults, key by key (a value of the wrong type, or unreadable JSON, keeps the default). */
export function restoreLauncher(saved: string | null): LauncherForm {
  const form = launcherDefaults();
  let parsed: unknown;
  try {
    parsed = saved ? JSON.parse(saved) : null;
  } catch {
    return form;
  }
  if (!parsed || typeof parsed !== 'object') return form;
  const target = form as Record<string, unknown>;
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!(key in form) || (FORGOTTEN as readonly string[]).includes(key)) continue;
    const fallback = target[key];
    // Blank-able fields (limits, the experiment) hold a number or null; the rest keep their type.
    const sameKind = fallback === null ? value === null || typeof value === 'number' : value !== null && typeof value === typeof fallback && Array.isArray(value) === Array.isArray(fallback);
    if (!sameKind) continue;
    target[key] = fallback && typeof fallback === 'object' && !Array.isArray(fallback) ? { ...fallback, ...(value as object) } : value;
  }
  return form;
}
