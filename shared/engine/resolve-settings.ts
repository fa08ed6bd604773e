/**
 * Which settings a run's method actually reads, the defaults that depend on the method and the
 * split made explicit, and what a run's record keeps: only the settings that apply, resolved,
 * plus what each module trains with (its auxiliary net, loss and λ), so the record says what ran.
 * Read by the settings check (./config.ts), the CLI and the job system.
 */
import type { TrainConfig } from './config';
import { addonSegments, withDefaultLambdas } from './gradient-reach';
import { type CutWeights, defaultInfoProLambdas, infoProWeights, manWeights, stageOfUnit, stemFusedNominalK } from './loss-weights';
import { blocksPerStage } from './resnet';
import { type Cut, type ModuleRange, segmentsFor } from './splits';

/** The built-in MNIST's train/test split when a run does not choose one (fixed forever: it decides which digits test). */
export const BUILTIN_MNIST_SPLIT = { seed: 20_261_129, testFraction: 0.2 } as const;

export interface SettingIssue {
  path: string[];
  message: string;
}

type Block = 'infopro' | 'hpff' | 'man';
const NAMES: Record<string, string> = { e2e: 'End-to-end', greedy: 'Greedy SL', dgl: 'DGL', infopro: 'InfoPro', 'infopro+hpff': 'InfoPro+HPFF', 'dgl+hpff': 'DGL+HPFF', 'infopro+man': 'InfoPro+MAN', 'dgl+man': 'DGL+MAN' };
const parts = (method: string) => method.split('+') as [string, 'hpff' | 'man' | undefined];

/** Why `method` does not read `block.field`, or null when it does. `value` matters for HPFF's PFF reading alone. */
export function whyNotRead(method: string, block: Block, field: string, value?: unknown): string | null {
  const [base, addon] = parts(method);
  const name = NAMES[method] ?? method;
  if (block === 'infopro' && method !== 'infopro') {
    return addon && base === 'infopro'
      ? `${name}'s auxiliary nets are set in ${addon}.auxConfig and ${addon}.lambdas and always train with cross-entropy (as its code), so infopro.${field} does not apply: it is the infopro method's setting`
      : `${name} has no InfoPro auxiliary nets, so infopro.${field} does not apply: it is the infopro method's setting`;
  }
  if (block !== 'infopro' && addon !== block) return `${block}.${field} is ${block === 'hpff' ? 'HPFF' : 'MAN'}'s setting (infopro+${block}, dgl+${block}); ${name} does not read it`;
  if (base === 'dgl' && (field === 'auxConfig' || field === 'lambdas' || field === 'lambdaIndex')) {
    return `${name}'s local nets are DGL heads trained with cross-entropy alone, so ${block}.${field} (an InfoPro-base setting) does not apply: choose infopro+${block} to set it`;
  }
  if (base === 'dgl' && block === 'hpff' && field === 'pff' && value === 'code') {
    return `the code's PFF (hpff.pff "code") fuses the reconstruction losses of four quadrant decoders, which a DGL base does not have: use "paper" (patch-averaged logits) or "none"`;
  }
  return null;
}

/**
 * Settings given for `config.method` that it does not read. `given(path)` says whether the user
 * set a field (the CLI knows its flags); without it a field counts as given when it differs from
 * `defaults` (an API call or the launcher sends whole option blocks).
 */
export function settingsNotApplying(config: TrainConfig, { defaults, given }: { defaults: Pick<TrainConfig, Block>; given?: ((path: string[]) => boolean) | undefined }): SettingIssue[] {
  const issues: SettingIssue[] = [];
  for (const block of ['infopro', 'hpff', 'man'] as const) {
    for (const [field, value] of Object.entries(config[block])) {
      const path = [block, field];
      const set = given ? given(path) : value !== undefined && JSON.stringify(value) !== JSON.stringify((defaults[block] as Record<string, unknown>)[field]);
      const why = set ? whyNotRead(config.method, block, field, value) : null;
      if (why) issues.push({ path, message: `${why}. Leave it out.` });
    }
  }
  const splitGiven = given ? given(['dataSplit']) : Object.values(config.dataSplit).some((v) => v !== undefined);
  if (splitGiven && config.dataset !== 'mnist') {
    issues.push({ path: ['dataSplit'], message: `the train/test split of data set ${config.dataset} comes from its files; dataSplit (seed, testPerClass, testFraction) applies to the built-in MNIST only. Leave it out.` });
  }
  return issues;
}

/** The modules a method trains for this cut list (e2e: one; HPFF and MAN: their stem reading). */
export function methodSegments(config: TrainConfig, cuts: readonly Cut[]): ModuleRange[] {
  const [, addon] = parts(config.method);
  if (config.method === 'e2e') return segmentsFor(config.depth, [], 'infopro');
  return addon ? addonSegments(config, addon, cuts) : segmentsFor(config.depth, cuts, 'infopro');
}

/**
 * `config` with the defaults that depend on the method and split made explicit: InfoPro's loss
 * weights for its K, HPFF's and MAN's (./gradient-reach.ts withDefaultLambdas), DGL+HPFF's PFF
 * reading (the code's reading acts on decoders a DGL base lacks, so such a run trains as "none").
 */
export function resolveSettings(config: TrainConfig, cuts: readonly Cut[]): TrainConfig {
  const [base, addon] = parts(config.method);
  if (config.method === 'infopro' && !config.infopro.lambdas) {
    return { ...config, infopro: { ...config.infopro, lambdas: defaultInfoProLambdas(methodSegments(config, cuts).length) } };
  }
  if (addon === 'hpff' && base === 'dgl' && config.hpff.pff === 'code') return { ...config, hpff: { ...config.hpff, pff: 'none' } };
  return addon && base === 'infopro' ? withDefaultLambdas(config, cuts) : config;
}

/** What one module of a run trains with, as its record shows it. */
export interface ModuleRecord {
  /** 1-based, as the split editor and the dashboard number them. */
  module: number;
  /** Its units: "stem", "1.0" (stage.block), "stem-1.2". */
  units: string;
  /** The auxiliary net(s) its local loss reads, or the network's own head. */
  aux: string;
  loss: 'cross_entropy' | 'contrast';
  /** λx (reconstruction) and λy (task) of its local loss, where the method weights them. */
  lambdaX?: number;
  lambdaY?: number;
}

function unitName(depth: number, unit: number): string {
  if (unit === 0) return 'stem';
  const n = blocksPerStage(depth);
  return `${Math.floor((unit - 1) / n) + 1}.${(unit - 1) % n}`;
}

const round = (v: number) => +v.toFixed(6);
const weighted = (w: CutWeights) => ({ lambdaX: round(w.ixx), lambdaY: round(w.ixy) });

/** Each module's auxiliary net, loss and weights, from the same schedules the trainers apply. */
export function moduleRecords(config: TrainConfig, cuts: readonly Cut[]): ModuleRecord[] {
  const [base, addon] = parts(config.method);
  const segments = methodSegments(config, cuts);
  const last = segments.length - 1;
  const units = ({ first, last: end }: ModuleRange) => (first === end ? unitName(config.depth, first) : `${unitName(config.depth, first)}-${unitName(config.depth, end)}`);
  const head = { aux: 'the network head', loss: 'cross_entropy' as const };
  return segments.map((segment, i) => {
    const row = { module: i + 1, units: units(segment) };
    if (i === last) return { ...row, ...head };
    if (config.method === 'greedy') return { ...row, aux: '0c1f', loss: 'cross_entropy' };
    if (config.method === 'dgl') return { ...row, aux: 'DGL head', loss: 'cross_entropy' };
    if (config.method === 'infopro') {
      const { auxConfig, lossMode, lambdas } = config.infopro;
      return { ...row, aux: `${auxConfig} + decoder`, loss: lossMode, ...weighted(infoProWeights(lambdas ?? defaultInfoProLambdas(segments.length), i, segments.length)) };
    }
    const k = stemFusedNominalK(config.depth, segments);
    if (addon === 'hpff') {
      const { auxConfig, pff, lambdas } = config.hpff;
      if (i === 0) return { ...row, aux: 'none: learns from the first cascade loss', loss: 'cross_entropy' };
      const nets = base === 'dgl' ? `independent + cascade DGL heads${pff === 'paper' ? ' (patch-averaged)' : ''}` : `independent + cascade ${auxConfig}, PFF ${pff}`;
      return { ...row, aux: nets, loss: 'cross_entropy', ...(base === 'infopro' && lambdas ? weighted(infoProWeights(lambdas, i, k)) : {}) };
    }
    const { auxConfig, bias, lambdas, lambdaIndex } = config.man;
    const nets = `EMA of the next block + ${bias} bias + ${base === 'dgl' ? 'DGL head' : `${auxConfig} + decoder`}`;
    const weights = base === 'infopro' && lambdas ? weighted(manWeights(lambdas, lambdaIndex, i, stageOfUnit(config.depth, segments[i + 1]!.first), k)) : {};
    return { ...row, aux: nets, loss: 'cross_entropy', ...weights };
  });
}

/**
 * What a run's record keeps: the settings its method reads, resolved (`config` has been through
 * resolveSettings), the cut list, each module's net, loss and weights, and which option blocks
 * do not apply. Stored records are read back with ../../main/engine/train/run-config.ts.
 */
export function runRecord(config: TrainConfig, cuts: readonly Cut[]): Record<string, unknown> {
  const [, addon] = parts(config.method);
  const { infopro, hpff, man, dataSplit, ...rest } = config;
  const record: Record<string, unknown> = { ...rest };
  const notApplying: string[] = [];
  const keep = (block: Block, value: Record<string, unknown>) => {
    const kept = Object.fromEntries(Object.entries(value).filter(([field, v]) => v !== undefined && !whyNotRead(config.method, block, field, v)));
    const dropped = Object.keys(value).filter((field) => !(field in kept));
    if (dropped.length) notApplying.push(...dropped.map((field) => `${block}.${field}`));
    if (Object.keys(kept).length) record[block] = kept;
  };
  if (config.method === 'infopro') keep('infopro', infopro);
  else notApplying.push('infopro');
  if (addon === 'hpff') keep('hpff', hpff);
  else notApplying.push('hpff');
  if (addon === 'man') keep('man', man);
  else notApplying.push('man');
  if (config.dataset === 'mnist') record.dataSplit = { seed: dataSplit.seed ?? BUILTIN_MNIST_SPLIT.seed, ...(dataSplit.testPerClass ? { testPerClass: dataSplit.testPerClass } : { testFraction: dataSplit.testFraction ?? BUILTIN_MNIST_SPLIT.testFraction }) };
  else notApplying.push('dataSplit');
  return { ...record, cuts: cuts.map((c) => [...c]), modules: moduleRecords(config, cuts), notApplying };
}

/** Keys a record holds besides the settings: derived, never read back as settings. */
export const RECORD_ONLY_KEYS = ['cuts', 'modules', 'notApplying'] as const;
