/**
 * Which local modules a run's settings leave without any gradient: a module whose every loss
 * term is weighted 0 never changes, and the run ends near chance without a word. The settings
 * check (./config.ts, read by the CLI, the launcher and `runs:start`) refuses such settings,
 * naming the modules and what to change.
 */
import type { TrainConfig } from './config';
import { ADDON_README_LAMBDAS, type CutWeights, defaultInfoProLambdas, infoProWeights, manWeights, stageOfUnit, stemFusedNominalK } from './loss-weights';
import { type Cut, segmentsFor } from './splits';

export interface StarvedModules {
  /** 1-based, as the split editor and the dashboard number them. */
  modules: number[];
  /** Why they get nothing and what to change. */
  message: string;
  /** The setting to change (a path into the config), for the field the launcher flags. */
  path: (string | number)[];
}

const zero = (w: CutWeights) => w.ixx === 0 && w.ixy === 0;
const fmt = (w: CutWeights) => `λx = ${+w.ixx.toFixed(4)}, λy = ${+w.ixy.toFixed(4)}`;
const names = (modules: number[]) => `module${modules.length > 1 ? 's' : ''} ${modules.join(', ')}`;
const nothing = (modules: number[]) => `${names(modules)} would get no gradient at all and never train`;

/**
 * `config` with HPFF's and MAN's default loss weights made explicit for this split: the README's
 * (5, 0.5) -> (0, 0) where they reach every module (the papers' one-module-per-block splits),
 * else InfoPro's command values for the same K, which never end at (0, 0): on a stem-fused
 * K = 4 split the README's end weights would leave MAN's last local module (and HPFF's first
 * at K = 3) with no gradient. Weights the user gave are kept as given (and checked).
 */
export function withDefaultLambdas(config: TrainConfig, cuts: readonly Cut[]): TrainConfig {
  const [, addon] = config.method.split('+') as [string, 'hpff' | 'man' | undefined];
  if (!addon || config[addon].lambdas) return config;
  const readme = { ...config, [addon]: { ...config[addon], lambdas: ADDON_README_LAMBDAS } };
  if (!starvedModules(readme, cuts)) return readme;
  const k = stemFusedNominalK(config.depth, addonSegments(config, addon, cuts));
  return { ...config, [addon]: { ...config[addon], lambdas: defaultInfoProLambdas(k) } };
}

/** The modules `config` (already validated) leaves without gradient for this cut list; null when every module learns. */
export function starvedModules(config: TrainConfig, cuts: readonly Cut[]): StarvedModules | null {
  const [base, addon] = config.method.split('+') as [string, string | undefined];
  if (addon === 'man') return base === 'infopro' ? starvedByMan(config, cuts) : null;
  if (addon === 'hpff') return starvedByHpff(config, cuts, base === 'infopro');
  if (config.method === 'infopro') return starvedByInfoPro(config, cuts);
  return null; // e2e, greedy and DGL weight every module's one loss by 1
}

function starvedByInfoPro(config: TrainConfig, cuts: readonly Cut[]): StarvedModules | null {
  const k = segmentsFor(config.depth, cuts, 'infopro').length;
  const lambdas = config.infopro.lambdas ?? defaultInfoProLambdas(k);
  // The last module learns from the real head; module i + 1 from its cut's weighted losses.
  const weights = Array.from({ length: k - 1 }, (_, i) => infoProWeights(lambdas, i, k));
  const modules = weights.flatMap((w, i) => (zero(w) ? [i + 1] : []));
  if (!modules.length) return null;
  return {
    modules,
    path: ['infopro', 'lambdas'],
    message: `InfoPro's loss weights give ${names(modules)} λx = 0 and λy = 0 (K = ${k}, each module's weights run from (λx1, λy1) at module 1 to (λx2, λy2) at module ${k - 1}), so ${nothing(modules)}. Give λx or λy above 0 there (e.g. λx2 or λy2 above 0 for the last local module).`,
  };
}

/** HPFF's or MAN's segments: the stem fused into the first (their code) unless the run trains it apart. */
export function addonSegments(config: TrainConfig, addon: 'hpff' | 'man', cuts: readonly Cut[]) {
  return segmentsFor(config.depth, cuts, config[addon].stem === 'apart' ? 'infopro' : 'stem-fused');
}

function starvedByMan(config: TrainConfig, cuts: readonly Cut[]): StarvedModules | null {
  const segments = addonSegments(config, 'man', cuts);
  if (segments.length < 2) return null; // the trainer refuses such a split itself
  const k = stemFusedNominalK(config.depth, segments);
  const { lambdas = ADDON_README_LAMBDAS, lambdaIndex } = config.man;
  const at = (index: typeof lambdaIndex) => segments.slice(0, -1).map((_, i) => manWeights(lambdas, index, i, stageOfUnit(config.depth, segments[i + 1]!.first), k));
  const weights = at(lambdaIndex);
  const modules = weights.flatMap((w, i) => (zero(w) ? [i + 1] : []));
  if (!modules.length) return null;
  const moduleIndexTrains = lambdaIndex === 'stage' && !at('module').some(zero);
  const reading = lambdaIndex === 'stage' ? `the 'stage' λ index (r = the next block's stage / (K - 2), clamped to 1; K = ${k}) reaches the end weights (λx2, λy2) = (${lambdas.ixx2}, ${lambdas.ixy2})` : `the 'module' λ index (r = i / (K - 2); K = ${k}) gives ${modules.map((m) => `module ${m} ${fmt(weights[m - 1]!)}`).join('; ')}`;
  return {
    modules,
    path: moduleIndexTrains ? ['man', 'lambdaIndex'] : ['man', 'lambdas'],
    message:
      `InfoPro+MAN: both λx and λy are 0 for ${names(modules)}: ${reading}, so ${nothing(modules)}: MAN trains a module only through its own local loss. ` +
      (moduleIndexTrains ? `Use the 'module' λ index (man.lambdaIndex "module", --man-lambda module), or loss weights whose λx2 or λy2 is above 0.` : `Give loss weights with λx or λy above 0 at ${names(modules)} (e.g. λx2 or λy2 above 0).`),
  };
}

function starvedByHpff(config: TrainConfig, cuts: readonly Cut[], infoproBase: boolean): StarvedModules | null {
  const segments = addonSegments(config, 'hpff', cuts);
  if (segments.length < 2) return null;
  const last = segments.length - 1;
  const k = stemFusedNominalK(config.depth, segments);
  const { independentWeight: wx, cascadeWeight: wy, lambdas = ADDON_README_LAMBDAS } = config.hpff;
  // Cascade c = 1..K'-1 reaches segments c - 1 and c; its net's weights on an InfoPro base, the real head's CE (weight 1) for the last pair.
  const cascade = (c: number): CutWeights => (c === last || !infoproBase ? { ixx: 0, ixy: 1 } : infoProWeights(lambdas, c, k));
  const cascadeReaches = (c: number) => c >= 1 && c <= last && wy > 0 && !zero(cascade(c));
  // Segment j >= 1 also learns from its own independent loss (w_x); segment 0 has none.
  const modules = segments.flatMap((_, j) => ((j >= 1 && wx > 0) || cascadeReaches(j) || cascadeReaches(j + 1) ? [] : [j + 1]));
  if (!modules.length) return null;
  const method = infoproBase ? 'InfoPro+HPFF' : 'DGL+HPFF';
  if (wy === 0) {
    return {
      modules,
      path: ['hpff', 'cascadeWeight'],
      message: `${method}: the cascade weight w_y is 0${wx === 0 ? ' and so is the independent weight w_x' : ''}, so ${nothing(modules)} (module 1 learns only from the first cascade loss). Set w_y (hpff.cascadeWeight) above 0, e.g. the code's 0.999.`,
    };
  }
  const zeroCuts = [...new Set(modules.flatMap((m) => [m - 1, m].filter((c) => c >= 1 && c < last)))];
  return {
    modules,
    path: ['hpff', 'lambdas'],
    message:
      `${method}: both λx and λy are 0 for the cascade loss${zeroCuts.length > 1 ? 'es' : ''} at cut${zeroCuts.length > 1 ? 's' : ''} ${zeroCuts.join(', ')} (λ = λ1 (1 - r) + λ2 r with r = cut / (K - 2), K = ${k}), ` +
      `the only loss${modules.length > 1 ? 'es' : ''} reaching ${names(modules)}${wx === 0 ? ' with the independent weight w_x = 0' : ' (module 1 has no independent loss)'}, so ${nothing(modules)}. ` +
      `Give loss weights with λx or λy above 0 there${wx === 0 ? ', set w_x (hpff.independentWeight) above 0,' : ','} or choose a split with more segments.`,
  };
}
