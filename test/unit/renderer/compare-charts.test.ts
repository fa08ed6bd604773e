/** The compare charts' option builders: memory as measured (never stacked), one colour per run, readable settings. */
import { describe, expect, it } from 'vitest';
import { defaultRunName, methodName } from '../../../shared/api/run-names';
import type { Run, RunComparison } from '../../../shared/api/schemas';
import { smooth } from '../../../renderer/src/charts/chart-kit';
import { type ChartRun, differingKeys, displaySetting, lossOption, memoryRows, moduleOption, parallelOption, savingLabel, scatterOption, scatterPoints, wholeStepOption } from '../../../renderer/src/compare/compare-charts';
import { chartColours } from '../../../renderer/src/compare/drawn-colours';
import { assignColours, RUN_PALETTE, shortName } from '../../../renderer/src/compare/run-identity';

const MiB = 2 ** 20;

function item(id: number, method: string, cuts: number[][], seed: number, peak: number, modules: number[], acc = [0.5, 0.6]): RunComparison {
  const run: Run = {
    id,
    experimentId: 1,
    name: defaultRunName({ method, modules: method === 'e2e' ? 1 : cuts.length + 1, seed, depth: 8, dataset: 'MNIST' }),
    kind: 'local-learning',
    status: 'done',
    config: { method, depth: 8, dataset: 'mnist', seed, split: cuts, cuts, infopro: { auxConfig: '1c2f' } },
    seed,
    createdAt: 1,
    startedAt: 1_000,
    endedAt: 2_000,
    environment: null,
    error: null,
    notes: '',
    tags: [],
    summary: { method, depth: 8, dataset: 'mnist', modules: method === 'e2e' ? 1 : cuts.length + 1, bestTestAccuracy: null, finalTestAccuracy: null, epochs: 2, peakBytes: peak, imagesPerSecond: 100, psnr: null, ssim: null, map: null, map50: null, durationMs: 1000 },
  };
  return {
    run,
    epochs: [{ key: 'test_acc', scope: 'epoch', steps: acc.map((_, i) => i + 1), values: acc }],
    loss: { key: 'loss/m2', scope: 'step', steps: [1, 2, 3], values: [2, 1, 0.5], times: [2_000, 3_000, 5_000] },
    memory: [{ step: 0, module: null, peakBytes: peak, method: 'tf.profile', at: 0 }, ...modules.map((b, module) => ({ step: 0, module, peakBytes: b, method: 'tf.profile', at: 0 }))],
  };
}

const e2e = item(1, 'e2e', [], 0, 91.7 * MiB, [91.7 * MiB]);
const infopro = item(2, 'infopro', [[0, 0], [1, 0]], 0, 78.7 * MiB, [70 * MiB, 55 * MiB, 47 * MiB], [0.4, 0.7]);
const infopro1 = item(3, 'infopro', [[0, 0], [1, 0]], 1, 79 * MiB, [71 * MiB, 55 * MiB, 47 * MiB]);
const chartRuns = (items: RunComparison[]): ChartRun[] => {
  const colours = assignColours({}, items.map((c) => c.run.id));
  return items.map((c) => ({ item: c, label: shortName(c.run), colour: colours[c.run.id]! }));
};

describe('compare charts', () => {
  it('draws the whole-step peak as stored and each module peak side by side, never stacked, with the saving against end-to-end', () => {
    const rows = memoryRows(chartRuns([e2e, infopro]));
    expect(rows.map((r) => r.peakBytes)).toEqual([91.7 * MiB, 78.7 * MiB]);
    expect(rows[1]!.modules).toEqual([70 * MiB, 55 * MiB, 47 * MiB]);
    expect(rows[0]!.saving).toBeNull();
    expect(rows[1]!.saving).toBeCloseTo(1 - 78.7 / 91.7, 10);
    expect(savingLabel(rows[1]!.saving!)).toBe('−14.2% vs E2E');
    expect(savingLabel(-0.03)).toBe('+3.0% vs E2E');

    const whole = wholeStepOption(rows);
    expect(whole.series).toHaveLength(1);
    expect(whole.series[0]!.data.map((d) => d.value)).toEqual([91.7, 78.7].map((v) => (v * MiB) / MiB));
    const modules = moduleOption(rows);
    expect(modules.xAxis.data).toEqual(['module 1', 'module 2', 'module 3']);
    expect(modules.series.map((s) => s.data)).toEqual([[91.7, null, null], [70, 55, 47]]);
    for (const s of [...whole.series, ...modules.series]) expect(s).not.toHaveProperty('stack');
  });

  it('gives each run one colour in every chart, kept while it stays ticked', () => {
    const colours = assignColours({}, [5, 7, 9]);
    expect(new Set(Object.values(colours)).size).toBe(3);
    const after = assignColours(colours, [7, 9, 11]);
    expect(after[7]).toBe(colours[7]);
    expect(after[9]).toBe(colours[9]);
    expect(after[11]).toBe(colours[5]); // the freed colour is reused
    expect(Object.keys(assignColours({}, Array.from({ length: 12 }, (_, i) => i + 1)))).toHaveLength(12);
    expect(RUN_PALETTE).toHaveLength(10);

    const runs = chartRuns([e2e, infopro, infopro1]);
    const expected = Object.fromEntries(runs.map((r) => [r.label, r.colour]));
    const rows = memoryRows(runs);
    expect(chartColours(wholeStepOption(rows))).toEqual(expected);
    expect(chartColours(moduleOption(rows))).toEqual(expected);
    expect(chartColours(lossOption(runs, { smoothing: 0, log: false, x: 'step' }))).toEqual(expected);
    expect(chartColours(scatterOption(scatterPoints(runs, 'epoch', 1)))).toEqual(expected);
    expect(chartColours(parallelOption(runs, 'epoch', 1))).toEqual(expected);
  });

  it('names runs by what differs first, so short names tell seeds apart', () => {
    expect(infopro.run.name).toBe('InfoPro K=3 seed 0 · ResNet-8 · MNIST');
    expect(e2e.run.name).toBe('End-to-end seed 0 · ResNet-8 · MNIST');
    expect(shortName(infopro.run)).toBe('#2 InfoPro K=3 seed 0');
    expect(shortName(infopro1.run)).not.toBe(shortName(infopro.run));
    expect(shortName({ id: 4, name: 'a very long hand-written run name that goes on' }, 20)).toBe('#4 a very long hand…');
    expect(methodName('infopro+hpff')).toBe('InfoPro+HPFF');
    expect(methodName('e2e')).toBe('End-to-end');
  });

  it('smooths step losses (debiased EMA), draws them on a log scale or against seconds since the start', () => {
    expect(smooth([1, 2, 3], 0)).toEqual([1, 2, 3]);
    const s = smooth([2, 2, 2], 0.9);
    s.forEach((v) => expect(v).toBeCloseTo(2, 10)); // debiased: a flat curve stays flat
    expect(smooth([0, 10], 0.5)[1]).toBeCloseTo(10 * 0.5 / 0.75, 10);
    const runs = chartRuns([infopro]);
    const raw = lossOption(runs, { smoothing: 0, log: true, x: 'time' });
    expect(raw.yAxis.type).toBe('log');
    expect(raw.series).toHaveLength(1);
    expect(raw.series[0]!.data).toEqual([[1, 2], [2, 1], [4, 0.5]]);
    const smoothed = lossOption(runs, { smoothing: 0.5, log: false, x: 'step' });
    expect(smoothed.series).toHaveLength(2); // the raw curve faint behind the smoothed one
    expect(smoothed.xAxis.minInterval).toBe(1);
  });

  it('shows settings as people read them, once each: method names, cut lists, no duplicate split axis', () => {
    expect(displaySetting('method', '"e2e"')).toBe('End-to-end');
    expect(displaySetting('cuts', '[[1,0],[2,0]]')).toBe('[[1,0],[2,0]]');
    expect(displaySetting('dataset', '"mnist"')).toBe('mnist');
    expect(displaySetting('lr', undefined)).toBe('–');
    expect(displaySetting('modules', JSON.stringify([{ module: 1, aux: '1c2f' }, { module: 2, aux: 'head' }]))).toBe('module 1, aux 1c2f | module 2, aux head');
    expect(displaySetting('notApplying', '["hpff","man"]')).toBe('hpff, man');
    expect(differingKeys([e2e, infopro])).toEqual(['method', 'cuts']);
    // What follows from the method (the blocks it does not read) is no setting of its own.
    const recorded = [e2e, infopro].map((c) => ({ ...c, run: { ...c.run, config: { ...c.run.config, notApplying: c.run.id === 1 ? ['infopro'] : [] } } }));
    expect(differingKeys(recorded)).toEqual(['method', 'cuts']);
    const option = parallelOption(chartRuns([e2e, infopro, infopro1]), 'epoch', 1);
    expect(option.parallelAxis.map((a) => a.name)).toEqual(['method', 'split (cuts)', 'accuracy %', 'peak MiB']);
    expect(option.parallelAxis[1]).toMatchObject({ data: ['[]', '[[0,0],[1,0]]'] });
    expect(option.parallelAxis[0]).toMatchObject({ data: ['End-to-end', 'InfoPro'] });
    expect(option.series).toHaveLength(3);
    expect(option.series[1]!.data[0]).toEqual(['InfoPro', '[[0,0],[1,0]]', 70, 78.7]);
    // The method comes first among many differing settings; lists of records are no axis.
    const busy = [e2e, infopro].map((c) => ({ ...c, run: { ...c.run, config: { ...c.run.config, a: c.run.id, b: c.run.id, c: c.run.id, d: c.run.id, e: c.run.id, modules: [{ module: c.run.id }] } } }));
    expect(parallelOption(chartRuns(busy), 'epoch', 1).parallelAxis.map((a) => a.name)).toEqual(['method', 'split (cuts)', 'a', 'b', 'c', 'd', 'accuracy %', 'peak MiB']);
  });
});
