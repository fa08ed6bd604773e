/**
 * The compare view's charts as option builders (pure: runs in, ECharts option out), one colour
 * per run in all of them. Memory is drawn as measured: each run's whole-step peak, and each
 * module's own peak side by side (modules train one after another: their peaks do not add up).
 */
import { methodName } from '../../../shared/api/run-names';
import type { RunComparison } from '../../../shared/api/schemas';
import { countAxis, GRID, smooth, valueAxis, X_ZOOM } from '../charts/chart-kit';
import { accuracyOf, type CurveMode, flattenConfig, paretoFront, summarizeCurve } from './compare-model';

const MiB = 2 ** 20;

/** A compared run as the charts draw it. */
export interface ChartRun {
  item: RunComparison;
  label: string;
  colour: string;
}

const testAcc = (c: RunComparison) => c.epochs.find((s) => s.key === 'test_acc');

export function accuracyOption(runs: readonly ChartRun[], mode: CurveMode, atEpoch: number) {
  return {
    animation: false,
    tooltip: { trigger: 'axis', valueFormatter: (v: number) => `${v.toFixed(2)}%` },
    grid: GRID,
    dataZoom: X_ZOOM,
    xAxis: countAxis('epoch'),
    yAxis: valueAxis('test accuracy %', { scale: true }),
    series: runs.map((r) => ({
      name: r.label,
      type: 'line',
      color: r.colour,
      data: summarizeCurve(testAcc(r.item) ?? { steps: [], values: [] }, mode, atEpoch).map(([x, y]) => [x, 100 * y]),
    })),
  };
}

/** A super-resolution run's PSNR-Y per evaluation (dB), in the same curve modes as accuracy; runs without it draw nothing. */
export function psnrOption(runs: readonly ChartRun[], mode: CurveMode, atEpoch: number) {
  return {
    animation: false,
    tooltip: { trigger: 'axis', valueFormatter: (v: number) => `${v.toFixed(2)} dB` },
    grid: GRID,
    dataZoom: X_ZOOM,
    xAxis: countAxis('epoch'),
    yAxis: valueAxis('PSNR-Y dB', { scale: true }),
    series: runs.map((r) => ({
      name: r.label,
      type: 'line',
      color: r.colour,
      data: summarizeCurve(r.item.epochs.find((s) => s.key === 'test_psnr') ?? { steps: [], values: [] }, mode, atEpoch),
    })),
  };
}

/** A detection run's mAP@[.5:.95] per evaluation, in points. */
export function mapOption(runs: readonly ChartRun[], mode: CurveMode, atEpoch: number) {
  return {
    animation: false,
    tooltip: { trigger: 'axis', valueFormatter: (v: number) => v.toFixed(1) },
    grid: GRID,
    dataZoom: X_ZOOM,
    xAxis: countAxis('epoch'),
    yAxis: valueAxis('mAP@[.5:.95] (points)', { scale: true }),
    series: runs.map((r) => ({
      name: r.label,
      type: 'line',
      color: r.colour,
      data: summarizeCurve(r.item.epochs.find((s) => s.key === 'test_map') ?? { steps: [], values: [] }, mode, atEpoch).map(([x, y]) => [x, 100 * y]),
    })),
  };
}

export interface LossView {
  /** EMA weight, 0 (raw) to 0.99. */
  smoothing: number;
  log: boolean;
  x: 'step' | 'time';
}

/** The last module's loss per step (or against seconds since the run started), smoothed, the raw curve faint behind. */
export function lossOption(runs: readonly ChartRun[], view: LossView) {
  const series = runs.flatMap((r) => {
    const loss = r.item.loss;
    if (!loss) return [];
    const start = r.item.run.startedAt ?? 0;
    const xs = view.x === 'time' && loss.times ? loss.times.map((t) => (t - start) / 1000) : loss.steps;
    const smoothed = smooth(loss.values, view.smoothing);
    const line = (values: readonly number[]) => xs.map((x, i) => [x, values[i]]);
    return [
      ...(view.smoothing > 0 ? [{ name: r.label, type: 'line', color: r.colour, showSymbol: false, silent: true, lineStyle: { opacity: 0.25 }, tooltip: { show: false }, data: line(loss.values) }] : []),
      { name: r.label, type: 'line', color: r.colour, showSymbol: false, data: line(smoothed) },
    ];
  });
  return {
    animation: false,
    tooltip: { trigger: 'axis', valueFormatter: (v: number) => v.toPrecision(4) },
    grid: GRID,
    dataZoom: X_ZOOM,
    xAxis: view.x === 'time' ? valueAxis('seconds since start', { nameGap: 26, min: 0 }) : countAxis('step'),
    yAxis: valueAxis('loss (last module)', view.log ? { type: 'log', scale: true } : { scale: true }),
    series,
  };
}

export interface MemoryRow {
  id: number;
  label: string;
  colour: string;
  method: string | null;
  /** The whole training step's measured peak (bytes), as stored. */
  peakBytes: number | null;
  /** Each module's own measured peak (bytes), by module. */
  modules: number[];
  /** 1 - peak / end-to-end's peak (same net and data set), when an end-to-end run is compared. */
  saving: number | null;
}

export function memoryRows(runs: readonly ChartRun[]): MemoryRow[] {
  const context = (c: RunComparison) => `${c.run.summary.depth}/${c.run.summary.dataset}`;
  const e2ePeak = (c: RunComparison): number | null => {
    const peaks = runs.map((r) => r.item).filter((o) => o.run.summary.method === 'e2e' && context(o) === context(c) && o.run.summary.peakBytes !== null).map((o) => o.run.summary.peakBytes!);
    return peaks.length ? peaks.reduce((a, b) => a + b, 0) / peaks.length : null;
  };
  return runs.map(({ item, label, colour }) => {
    const peak = item.run.summary.peakBytes;
    const reference = e2ePeak(item);
    return {
      id: item.run.id,
      label,
      colour,
      method: item.run.summary.method,
      peakBytes: peak,
      modules: item.memory.filter((m) => m.module !== null).sort((a, b) => a.module! - b.module!).map((m) => m.peakBytes),
      saving: peak !== null && reference && item.run.summary.method !== 'e2e' ? 1 - peak / reference : null,
    };
  });
}

/** "−14.2% vs E2E" (a saving) or "+3.0% vs E2E" (more memory). */
export const savingLabel = (saving: number): string => `${saving >= 0 ? '−' : '+'}${Math.abs(100 * saving).toFixed(1)}% vs E2E`;

/** One bar per run: its whole-step peak, labelled with the saving against end-to-end. */
export function wholeStepOption(rows: readonly MemoryRow[]) {
  return {
    animation: false,
    tooltip: { trigger: 'item', formatter: (p: { name: string; value: number; dataIndex: number }) => `${p.name}<br>whole step ${p.value.toFixed(1)} MiB${rows[p.dataIndex]?.saving != null ? `<br>${savingLabel(rows[p.dataIndex]!.saving!)}` : ''}` },
    grid: { ...GRID, bottom: 40, top: 24 },
    xAxis: { type: 'category', data: rows.map((r) => r.label), axisLabel: { interval: 0, width: 150, overflow: 'truncate' } },
    yAxis: valueAxis('peak memory (MiB)'),
    series: [
      {
        name: 'whole step',
        type: 'bar',
        data: rows.map((r) => ({ value: (r.peakBytes ?? 0) / MiB, itemStyle: { color: r.colour } })),
        label: { show: true, position: 'top', lineHeight: 15, formatter: (p: { value: number; dataIndex: number }) => `${p.value.toFixed(1)}${rows[p.dataIndex]?.saving != null ? `\n${savingLabel(rows[p.dataIndex]!.saving!)}` : ''}` },
      },
    ],
  };
}

/** Each module's own peak, the runs' bars side by side per module (never stacked). */
export function moduleOption(rows: readonly MemoryRow[]) {
  const count = Math.max(0, ...rows.map((r) => r.modules.length));
  return {
    animation: false,
    tooltip: { trigger: 'axis', valueFormatter: (v: number) => (v === null || v === undefined ? '–' : `${v.toFixed(1)} MiB`) },
    grid: { ...GRID, bottom: 40, top: 24 },
    xAxis: { type: 'category', data: Array.from({ length: count }, (_, k) => `module ${k + 1}`) },
    yAxis: valueAxis('module peak (MiB)'),
    series: rows.map((r) => ({ name: r.label, type: 'bar', color: r.colour, data: Array.from({ length: count }, (_, k) => (r.modules[k] === undefined ? null : r.modules[k]! / MiB)) })),
  };
}

export interface ScatterPoint {
  id: number;
  label: string;
  colour: string;
  memory: number;
  accuracy: number;
  front: boolean;
}

export function scatterPoints(runs: readonly ChartRun[], mode: CurveMode, atEpoch: number): ScatterPoint[] {
  const points = runs
    .map((r) => ({ r, accuracy: accuracyOf(testAcc(r.item), mode, atEpoch), memory: r.item.run.summary.peakBytes }))
    .filter((p) => p.accuracy !== null && p.memory !== null)
    .map((p) => ({ id: p.r.item.run.id, label: p.r.label, colour: p.r.colour, memory: p.memory! / MiB, accuracy: 100 * p.accuracy!, front: false }));
  for (const i of paretoFront(points)) points[i]!.front = true;
  return points;
}

/** Accuracy against memory, each point labelled with its run; the Pareto front as a dashed line. */
export function scatterOption(points: readonly ScatterPoint[]) {
  return {
    animation: false,
    tooltip: { trigger: 'item', formatter: (p: { data: { name: string; value: number[] } }) => `${p.data.name}<br>${p.data.value[0]!.toFixed(1)} MiB, ${p.data.value[1]!.toFixed(2)}%` },
    grid: { ...GRID, bottom: 44, right: 40, top: 24 },
    xAxis: valueAxis('peak memory (MiB)', { nameGap: 26, scale: true }),
    yAxis: valueAxis('test accuracy %', { scale: true }),
    series: [
      {
        name: 'runs',
        type: 'scatter',
        symbolSize: 12,
        label: { show: true, position: 'right', formatter: (p: { data: { name: string } }) => p.data.name, fontSize: 11 },
        labelLayout: { hideOverlap: true },
        data: points.map((p) => ({ name: p.label, value: [p.memory, p.accuracy], itemStyle: { color: p.colour, borderColor: p.front ? '#d03050' : p.colour, borderWidth: p.front ? 3 : 0 } })),
      },
      { name: 'Pareto front', type: 'line', step: 'end', color: '#d03050', lineStyle: { type: 'dashed' }, showSymbol: false, data: points.filter((p) => p.front).sort((a, b) => a.memory - b.memory).map((p) => [p.memory, p.accuracy]) },
    ],
  };
}

/** A record (a module's resolved settings...) as "key value, key value". */
const compactRecord = (record: Record<string, unknown>): string =>
  Object.entries(record)
    .map(([k, v]) => `${k} ${v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');

/** A stored setting as a person reads it: method names, cut lists as [[1,0],[2,0]], text unquoted, records as "key value". */
export function displaySetting(key: string, json: string | undefined): string {
  if (json === undefined) return '–';
  const value: unknown = JSON.parse(json);
  if (key === 'method' && typeof value === 'string') return methodName(value);
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.length && value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) return value.map((v) => compactRecord(v as Record<string, unknown>)).join(' | ');
  if (Array.isArray(value) && value.length && value.every((v) => typeof v === 'string')) return value.join(', ');
  return JSON.stringify(value);
}

/** The settings people compare first; any other differing setting follows in name order. */
const KEY_ORDER = ['method', 'cuts', 'split', 'depth', 'dataset', 'batchSize', 'lr', 'epochs', 'schedule', 'execution'];
const keyRank = (k: string) => (KEY_ORDER.includes(k) ? KEY_ORDER.indexOf(k) : KEY_ORDER.length);
/** Stored facts that follow from other settings: the list of option blocks a method does not read follows from the method. */
const DERIVED = new Set(['notApplying']);

/**
 * The settings that differ, once each, the main ones first: the resolved cut list stands for the
 * split it came from (a preset name or the same list); what follows from the method is left out.
 */
export function differingKeys(runs: readonly RunComparison[]): string[] {
  const flats = runs.map((c) => flattenConfig(c.run.config));
  const keys = [...new Set(flats.flatMap((f) => Object.keys(f)))];
  const differs = (key: string) => new Set(flats.map((f) => f[key])).size > 1;
  const hasCuts = flats.some((f) => 'cuts' in f);
  return keys.filter((k) => differs(k) && !DERIVED.has(k) && !(hasCuts && k === 'split')).sort((a, b) => keyRank(a) - keyRank(b) || a.localeCompare(b));
}

/** Whether a stored value reads well as one axis value (a number, a word, a cut list; not a list of records). */
function axisWorthy(runs: readonly ChartRun[], key: string): boolean {
  return runs.every((r) => {
    const json = flattenConfig(r.item.run.config)[key];
    if (json === undefined) return true;
    const value: unknown = JSON.parse(json);
    return !(Array.isArray(value) && value.some((v) => v !== null && typeof v === 'object' && !Array.isArray(v)));
  });
}

/** Parallel coordinates: the differing settings (seed aside, the main ones first, at most six), then accuracy and peak memory; one coloured line per run. */
export function parallelOption(runs: readonly ChartRun[], mode: CurveMode, atEpoch: number) {
  const keys = differingKeys(runs.map((r) => r.item))
    .filter((k) => k !== 'seed' && axisWorthy(runs, k))
    .slice(0, 6);
  const value = (r: ChartRun, key: string) => displaySetting(key, flattenConfig(r.item.run.config)[key]);
  const axes = [
    ...keys.map((k) => ({ name: k === 'cuts' ? 'split (cuts)' : k, type: 'category', data: [...new Set(runs.map((r) => value(r, k)))] })),
    { name: 'accuracy %', type: 'value', scale: true },
    { name: 'peak MiB', type: 'value', scale: true },
  ];
  return {
    animation: false,
    tooltip: { trigger: 'item', formatter: (p: { seriesName: string }) => p.seriesName },
    parallelAxis: axes.map((a, dim) => ({ dim, ...a, nameTextStyle: { fontSize: 12 }, axisLabel: { width: 90, overflow: 'truncate' } })),
    parallel: { left: 70, right: 70, top: 40, bottom: 30 },
    series: runs.map((r) => {
      const accuracy = accuracyOf(testAcc(r.item), mode, atEpoch);
      const peak = r.item.run.summary.peakBytes;
      return {
        name: r.label,
        type: 'parallel',
        lineStyle: { width: 2.5, color: r.colour, opacity: 0.9 },
        data: [[...keys.map((k) => value(r, k)), accuracy === null ? null : 100 * accuracy, peak === null ? null : peak / MiB]],
      };
    }),
  };
}
