/**
 * What the compare view computes from runs, as pure functions: curve summaries, the
 * accuracy-versus-memory Pareto front, seeds grouped into mean ± std, the settings that differ,
 * and the exports (CSV of runs and of metric series, Markdown and LaTeX tables laid out like the
 * papers': test error by method and K, with peak memory and its saving against end-to-end).
 */
import { methodName } from '../../../shared/api/run-names';
import type { MetricSeries, Run, RunComparison } from '../../../shared/api/schemas';

/** Super-resolution methods as the papers' tables name them. */
const SR_METHOD_NAMES: Record<string, string> = { e2e: 'E2E', local: 'Simple local heads', glcan: 'GLCAN (our reading)' };

export type CurveMode = 'epoch' | 'best' | 'at';

/** A curve as drawn: per epoch, best so far, or the value at epoch k for every epoch from k on. */
export function summarizeCurve(series: Pick<MetricSeries, 'steps' | 'values'>, mode: CurveMode, atEpoch = 1): [number, number][] {
  const points = series.steps.map((step, i) => [step, series.values[i]!] as [number, number]);
  if (mode === 'epoch') return points;
  if (mode === 'best') {
    let best = -Infinity;
    return points.map(([step, value]) => [step, (best = Math.max(best, value))]);
  }
  const at = points.find(([step]) => step === atEpoch);
  return at ? [at] : [];
}

/** The value a run is compared on: its last, its best, or at epoch k (null when it has none). */
export function accuracyOf(series: Pick<MetricSeries, 'steps' | 'values'> | undefined, mode: CurveMode, atEpoch = 1): number | null {
  if (!series?.values.length) return null;
  if (mode === 'best') return Math.max(...series.values);
  if (mode === 'at') return series.values[series.steps.indexOf(atEpoch)] ?? null;
  return series.values.at(-1)!;
}

/** Indices of the points no other point beats on both lower memory and higher accuracy, by memory. */
export function paretoFront(points: readonly { memory: number; accuracy: number }[]): number[] {
  const order = points.map((_, i) => i).sort((a, b) => points[a]!.memory - points[b]!.memory || points[b]!.accuracy - points[a]!.accuracy);
  const front: number[] = [];
  let best = -Infinity;
  for (const i of order) {
    if (points[i]!.accuracy > best) {
      front.push(i);
      best = points[i]!.accuracy;
    }
  }
  return front;
}

/** Flatten a config to dotted keys (cut lists stay whole, as JSON). */
export function flattenConfig(config: Record<string, unknown>, prefix = ''): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === 'object' && !Array.isArray(value)) Object.assign(flat, flattenConfig(value as Record<string, unknown>, name));
    else flat[name] = JSON.stringify(value);
  }
  return flat;
}

/** The settings whose values are not the same in every run (a missing setting counts as a value). */
export function configDiff(runs: readonly Run[]): { key: string; values: (string | undefined)[] }[] {
  // What each module trains with and what does not apply follow from the settings: not settings of their own.
  const flats = runs.map(({ config: { modules: _modules, notApplying: _notApplying, ...settings } }) => flattenConfig(settings));
  const keys = [...new Set(flats.flatMap((f) => Object.keys(f)))].sort();
  return keys.map((key) => ({ key, values: flats.map((f) => f[key]) })).filter(({ values }) => new Set(values).size > 1);
}

export interface SeedGroup {
  /** The shared settings, seed left out. */
  key: string;
  /** The job kind of its runs (a group never mixes kinds: the kind's settings differ). */
  kind: Run['kind'];
  label: string;
  method: string;
  modules: number;
  runs: Run[];
  accuracy: { mean: number; std: number; n: number } | null;
  peakBytes: { mean: number; std: number; n: number } | null;
  /** Super-resolution: PSNR-Y (dB) and SSIM-Y over the seeds, in the same curve mode as accuracy. */
  psnr: { mean: number; std: number; n: number } | null;
  ssim: { mean: number; std: number; n: number } | null;
  /** Detection: mAP@[.5:.95] and mAP@0.5 over the seeds (in [0, 1]). */
  map: { mean: number; std: number; n: number } | null;
  map50: { mean: number; std: number; n: number } | null;
}

function meanStd(values: readonly number[]): { mean: number; std: number; n: number } | null {
  if (!values.length) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  // Sample standard deviation, as papers report over seeds (0 for a single run).
  const std = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, std, n: values.length };
}

/** Runs with the same settings but their seed, as one row: mean ± std of accuracy and peak memory. */
export function groupBySeeds(items: readonly RunComparison[], mode: CurveMode, atEpoch = 1): SeedGroup[] {
  const groups = new Map<string, RunComparison[]>();
  for (const item of items) {
    const { seed: _seed, ...rest } = item.run.config;
    const key = JSON.stringify([item.run.kind, flattenConfig(rest)]);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return [...groups.entries()].map(([key, members]) => {
    const first = members[0]!.run;
    const accuracies = members.map((m) => accuracyOf(m.epochs.find((s) => s.key === 'test_acc'), mode, atEpoch)).filter((v): v is number => v !== null);
    const peaks = members.map((m) => m.run.summary.peakBytes).filter((v): v is number => v !== null);
    const scoreOf = (metric: string) => meanStd(members.map((m) => accuracyOf(m.epochs.find((s) => s.key === metric), mode, atEpoch)).filter((v): v is number => v !== null));
    const sr = first.kind === 'super-resolution';
    const det = first.kind === 'detection';
    const taskMethod = det && first.summary.method === 'local' ? 'DGL-style local heads' : (SR_METHOD_NAMES[first.summary.method ?? ''] ?? first.summary.method);
    return {
      key,
      kind: first.kind,
      label: sr ? `${taskMethod} ×${String(first.config.scale)} K=${first.summary.modules ?? '?'}` : det ? `${taskMethod} K=${first.summary.modules ?? '?'}` : `${methodName(first.summary.method)} K=${first.summary.modules ?? '?'}`,
      psnr: sr ? scoreOf('test_psnr') : null,
      ssim: sr ? scoreOf('test_ssim') : null,
      map: det ? scoreOf('test_map') : null,
      map50: det ? scoreOf('test_map50') : null,
      method: first.summary.method ?? '?',
      modules: first.summary.modules ?? 1,
      runs: members.map((m) => m.run),
      accuracy: meanStd(accuracies),
      peakBytes: meanStd(peaks),
    };
  });
}

const csvCell = (value: unknown): string => {
  const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};
const csv = (rows: readonly (readonly unknown[])[]): string => `${rows.map((row) => row.map(csvCell).join(',')).join('\r\n')}\r\n`;
const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString());

/** Runs as CSV: identity, settings, results, tags, timestamps and durations. */
export function runsCsv(runs: readonly Run[]): string {
  return csv([
    // The task columns come last: spreadsheets and scripts written for the earlier columns keep reading them where they were.
    ['id', 'name', 'status', 'method', 'net', 'K', 'dataset', 'seed', 'best_test_acc', 'final_test_acc', 'epochs', 'peak_bytes', 'images_per_second', 'duration_s', 'tags', 'created', 'started', 'ended', 'notes', 'kind', 'psnr_y_db', 'ssim_y', 'map', 'map50'],
    ...runs.map((r) => [
      r.id,
      r.name,
      r.status,
      r.summary.method,
      r.summary.depth !== null ? `resnet${r.summary.depth}` : r.kind === 'super-resolution' ? `edsr-x${String(r.config.scale)}` : r.kind === 'detection' ? 'fcos-fpn' : '',
      r.summary.modules,
      r.summary.dataset,
      r.seed,
      r.summary.bestTestAccuracy,
      r.summary.finalTestAccuracy,
      r.summary.epochs,
      r.summary.peakBytes,
      r.summary.imagesPerSecond,
      r.summary.durationMs === null ? null : r.summary.durationMs / 1000,
      r.tags.join(' '),
      iso(r.createdAt),
      iso(r.startedAt),
      iso(r.endedAt),
      r.notes,
      r.kind,
      r.summary.psnr,
      r.summary.ssim,
      r.summary.map,
      r.summary.map50,
    ]),
  ]);
}

/** Every metric series of the compared runs, one row per point. */
export function seriesCsv(items: readonly RunComparison[]): string {
  const rows: unknown[][] = [['run_id', 'run_name', 'scope', 'key', 'step', 'value']];
  for (const { run, epochs, loss } of items) {
    for (const s of [...epochs, ...(loss ? [loss] : [])]) s.steps.forEach((step, i) => rows.push([run.id, run.name, s.scope, s.key, step, s.values[i]]));
  }
  return csv(rows);
}

interface PaperRow {
  method: string;
  modules: number;
  error: string;
  memory: string;
  saving: string;
}

const METHOD_ORDER = ['e2e', 'greedy', 'dgl', 'infopro', 'dgl+hpff', 'infopro+hpff', 'dgl+man', 'infopro+man'];

function paperRows(groups: readonly SeedGroup[]): PaperRow[] {
  const e2e = groups.find((g) => g.method === 'e2e')?.peakBytes?.mean ?? null;
  const order = (m: string) => (METHOD_ORDER.indexOf(m) + 1 || 99);
  return [...groups]
    .sort((a, b) => order(a.method) - order(b.method) || a.modules - b.modules)
    .map((g) => ({
      method: methodName(g.method),
      modules: g.modules,
      error: g.accuracy ? `${(100 * (1 - g.accuracy.mean)).toFixed(2)} ± ${(100 * g.accuracy.std).toFixed(2)}` : '–',
      memory: g.peakBytes ? `${(g.peakBytes.mean / 2 ** 30).toFixed(2)} GB` : '–',
      saving: g.peakBytes && e2e && g.method !== 'e2e' ? `${(100 * (1 - g.peakBytes.mean / e2e)).toFixed(1)}%` : '–',
    }));
}

const HEADER = ['Method', 'K', 'Test error (%)', 'Peak memory', 'Saving vs E2E'];

/**
 * Super-resolution rows as the GLCAN/FBA paper's table: per scale, each method's PSNR-Y and SSIM-Y
 * (mean ± std over seeds), its peak training memory as a ratio to end-to-end's at that scale, and
 * its PSNR gap to end-to-end in dB.
 */
function srPaperRows(groups: readonly SeedGroup[]): string[][] {
  const scaleOf = (g: SeedGroup) => Number(g.runs[0]!.config.scale);
  const order = (m: string) => ['e2e', 'local', 'glcan'].indexOf(m);
  return [...groups]
    .sort((a, b) => scaleOf(a) - scaleOf(b) || order(a.method) - order(b.method) || a.modules - b.modules)
    .map((g) => {
      const e2e = groups.find((x) => x.method === 'e2e' && scaleOf(x) === scaleOf(g));
      const ratio = g.peakBytes && e2e?.peakBytes ? (g.peakBytes.mean / e2e.peakBytes.mean).toFixed(2) : '–';
      const gap = g.psnr && e2e?.psnr && g.method !== 'e2e' ? (g.psnr.mean - e2e.psnr.mean).toFixed(2) : g.method === 'e2e' && g.psnr ? '0' : '–';
      return [
        `×${scaleOf(g)}`,
        SR_METHOD_NAMES[g.method] ?? g.method,
        String(g.modules),
        g.psnr ? `${g.psnr.mean.toFixed(2)} ± ${g.psnr.std.toFixed(2)}` : '–',
        g.ssim ? g.ssim.mean.toFixed(4) : '–',
        ratio,
        gap,
      ];
    });
}

const SR_HEADER = ['Scale', 'Method', 'K', 'PSNR-Y (dB)', 'SSIM-Y', 'Memory / E2E', 'PSNR gap to E2E (dB)'];

/** Detection rows as the paper's: mAP (points, mean ± std over seeds), memory as a ratio to end-to-end's, and the mAP gap in points. */
function detPaperRows(groups: readonly SeedGroup[]): string[][] {
  const order = (m: string) => ['e2e', 'local', 'glcan'].indexOf(m);
  const e2e = groups.find((g) => g.method === 'e2e');
  return [...groups]
    .sort((a, b) => order(a.method) - order(b.method) || a.modules - b.modules)
    .map((g) => [
      g.method === 'local' ? 'DGL-style local heads' : (SR_METHOD_NAMES[g.method] ?? g.method),
      String(g.modules),
      g.map ? `${(100 * g.map.mean).toFixed(1)} ± ${(100 * g.map.std).toFixed(1)}` : '–',
      g.map50 ? (100 * g.map50.mean).toFixed(1) : '–',
      g.peakBytes && e2e?.peakBytes ? (g.peakBytes.mean / e2e.peakBytes.mean).toFixed(2) : '–',
      g.method === 'e2e' && g.map ? '0' : g.map && e2e?.map ? (100 * (g.map.mean - e2e.map.mean)).toFixed(1) : '–',
    ]);
}

const DET_HEADER = ['Method', 'K', 'mAP@[.5:.95]', 'mAP@0.5', 'Memory / E2E', 'mAP gap to E2E (points)'];

/** The compared groups as the papers' tables: classification (test error) and super-resolution (PSNR), each its own table. */
export function markdownTable(groups: readonly SeedGroup[]): string {
  const parts: string[] = [];
  const classification = groups.filter((g) => g.kind === 'local-learning');
  const sr = groups.filter((g) => g.kind === 'super-resolution');
  if (classification.length || !groups.some((g) => g.kind === 'super-resolution' || g.kind === 'detection')) {
    const rows = paperRows(classification).map((r) => [r.method, String(r.modules), r.error, r.memory, r.saving]);
    parts.push([`| ${HEADER.join(' | ')} |`, '|---|---:|---:|---:|---:|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n') + '\n');
  }
  if (sr.length) parts.push([`| ${SR_HEADER.join(' | ')} |`, '|---|---|---:|---:|---:|---:|---:|', ...srPaperRows(sr).map((r) => `| ${r.join(' | ')} |`)].join('\n') + '\n');
  const det = groups.filter((g) => g.kind === 'detection');
  if (det.length) parts.push([`| ${DET_HEADER.join(' | ')} |`, '|---|---:|---:|---:|---:|---:|', ...detPaperRows(det).map((r) => `| ${r.join(' | ')} |`)].join('\n') + '\n');
  return parts.join('\n');
}

const latexEscape = (text: string) => text.replace(/[&%$#_{}]/g, (c) => `\\${c}`).replace(/±/g, '$\\pm$');

export function latexTable(groups: readonly SeedGroup[]): string {
  const parts: string[] = [];
  const classification = groups.filter((g) => g.kind === 'local-learning');
  const sr = groups.filter((g) => g.kind === 'super-resolution');
  if (classification.length || !groups.some((g) => g.kind === 'super-resolution' || g.kind === 'detection')) {
    const rows = paperRows(classification).map((r) => `${[r.method, String(r.modules), r.error, r.memory, r.saving].map(latexEscape).join(' & ')} \\\\`);
    parts.push(['\\begin{tabular}{lrrrr}', '\\toprule', `${HEADER.map(latexEscape).join(' & ')} \\\\`, '\\midrule', ...rows, '\\bottomrule', '\\end{tabular}'].join('\n') + '\n');
  }
  if (sr.length) {
    const rows = srPaperRows(sr).map((r) => `${r.map(latexEscape).join(' & ')} \\\\`);
    parts.push(['\\begin{tabular}{llrrrrr}', '\\toprule', `${SR_HEADER.map(latexEscape).join(' & ')} \\\\`, '\\midrule', ...rows, '\\bottomrule', '\\end{tabular}'].join('\n') + '\n');
  }
  const det = groups.filter((g) => g.kind === 'detection');
  if (det.length) {
    const rows = detPaperRows(det).map((r) => `${r.map(latexEscape).join(' & ')} \\\\`);
    parts.push(['\\begin{tabular}{lrrrrr}', '\\toprule', `${DET_HEADER.map(latexEscape).join(' & ')} \\\\`, '\\midrule', ...rows, '\\bottomrule', '\\end{tabular}'].join('\n') + '\n');
  }
  return parts.join('\n');
}

/** The super-resolution table's rows, for the compare view to show. */
export const srTableRows = (groups: readonly SeedGroup[]): { header: string[]; rows: string[][] } => ({ header: SR_HEADER, rows: srPaperRows(groups.filter((g) => g.kind === 'super-resolution')) });

/** The detection table's rows, for the compare view to show. */
export const detTableRows = (groups: readonly SeedGroup[]): { header: string[]; rows: string[][] } => ({ header: DET_HEADER, rows: detPaperRows(groups.filter((g) => g.kind === 'detection')) });
