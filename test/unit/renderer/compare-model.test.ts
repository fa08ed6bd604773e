/** The compare view's computations and exports. */
import { describe, expect, it } from 'vitest';
import { accuracyOf, configDiff, groupBySeeds, latexTable, markdownTable, paretoFront, runsCsv, seriesCsv, summarizeCurve } from '../../../renderer/src/compare/compare-model';
import type { Run, RunComparison } from '../../../shared/api/schemas';

function run(id: number, method: string, cuts: number[][], seed: number, peak: number | null, extra: Partial<Run> = {}): Run {
  return {
    id,
    experimentId: 1,
    name: `${method} ${id}`,
    kind: 'local-learning',
    status: 'done',
    config: { method, depth: 32, dataset: 'mnist', seed, cuts, infopro: { auxConfig: '1c2f' } },
    seed,
    createdAt: Date.UTC(2026, 0, 1),
    startedAt: Date.UTC(2026, 0, 1),
    endedAt: Date.UTC(2026, 0, 1, 0, 2),
    environment: null,
    error: null,
    notes: '',
    tags: [],
    summary: { method, depth: 32, dataset: 'mnist', modules: method === 'e2e' ? 1 : cuts.length + 1, bestTestAccuracy: null, finalTestAccuracy: null, epochs: 2, peakBytes: peak, imagesPerSecond: 100, psnr: null, ssim: null, map: null, map50: null, durationMs: 120_000 },
    ...extra,
  };
}
const item = (r: Run, acc: number[]): RunComparison => ({ run: r, epochs: [{ key: 'test_acc', scope: 'epoch', steps: acc.map((_, i) => i + 1), values: acc }], loss: null, memory: [] });

describe('compare model', () => {
  it('summarises curves per epoch, best so far, or at epoch k', () => {
    const s = { steps: [1, 2, 3], values: [0.5, 0.4, 0.7] };
    expect(summarizeCurve(s, 'best')).toEqual([[1, 0.5], [2, 0.5], [3, 0.7]]);
    expect(summarizeCurve(s, 'at', 2)).toEqual([[2, 0.4]]);
    expect(accuracyOf(s, 'epoch')).toBe(0.7);
    expect(accuracyOf(s, 'best')).toBe(0.7);
    expect(accuracyOf(s, 'at', 2)).toBe(0.4);
    expect(accuracyOf(s, 'at', 9)).toBeNull();
  });

  it('marks the Pareto front: nothing else has both less memory and more accuracy', () => {
    const points = [
      { memory: 10, accuracy: 0.9 },
      { memory: 4, accuracy: 0.8 },
      { memory: 6, accuracy: 0.7 },
      { memory: 2, accuracy: 0.6 },
      { memory: 12, accuracy: 0.85 },
    ];
    expect(paretoFront(points)).toEqual([3, 1, 0]);
  });

  it('shows only settings that differ, and groups seeds into mean ± std', () => {
    const runs = [run(1, 'infopro', [[1, 0]], 0, 100), run(2, 'infopro', [[1, 0]], 1, 300), run(3, 'e2e', [], 0, 1000)];
    expect(configDiff(runs).map((d) => d.key)).toEqual(['cuts', 'method', 'seed']);
    const groups = groupBySeeds([item(runs[0]!, [0.8, 0.9]), item(runs[1]!, [0.7, 0.7]), item(runs[2]!, [0.95])], 'best');
    expect(groups).toHaveLength(2);
    expect(groups[0]).toMatchObject({ method: 'infopro', modules: 2, peakBytes: { mean: 200, n: 2 } });
    expect(groups[0]!.accuracy!.mean).toBeCloseTo(0.8);
    expect(groups[0]!.accuracy!.std).toBeCloseTo(Math.sqrt(0.02), 6); // sample std of 0.9 and 0.7
  });

  it('writes the papers\' table as Markdown and LaTeX: error by method and K, memory and saving against end-to-end', () => {
    const runs = [run(1, 'infopro', [[1, 0], [2, 0], [3, 0]], 0, 2 ** 30), run(2, 'e2e', [], 0, 4 * 2 ** 30)];
    const groups = groupBySeeds([item(runs[0]!, [0.9]), item(runs[1]!, [0.925])], 'epoch');
    expect(markdownTable(groups)).toBe(
      '| Method | K | Test error (%) | Peak memory | Saving vs E2E |\n|---|---:|---:|---:|---:|\n| End-to-end | 1 | 7.50 ± 0.00 | 4.00 GB | – |\n| InfoPro | 4 | 10.00 ± 0.00 | 1.00 GB | 75.0% |\n',
    );
    const latex = latexTable(groups);
    expect(latex).toContain('\\begin{tabular}{lrrrr}');
    expect(latex).toContain('InfoPro & 4 & 10.00 $\\pm$ 0.00 & 1.00 GB & 75.0\\% \\\\');
    expect(latex).toContain('Saving vs E2E \\\\');
  });

  it('writes the super-resolution table like the GLCAN paper\'s: per scale, PSNR-Y and SSIM-Y, memory as a ratio to end-to-end and the PSNR gap in dB', () => {
    const sr = (id: number, method: string, cuts: number[], seed: number, peak: number, psnr: number[], ssim: number): RunComparison => {
      const base = run(id, method, [], seed, peak, { kind: 'super-resolution' });
      const config = { dataset: 'ds-1', scale: 2, features: 16, blocks: 4, method, cuts, seed };
      const r: Run = { ...base, config, summary: { ...base.summary, depth: null, modules: method === 'e2e' ? 1 : cuts.length + 1, psnr: psnr.at(-1)!, ssim } };
      return { run: r, epochs: [{ key: 'test_psnr', scope: 'epoch', steps: psnr.map((_, i) => i + 1), values: psnr }, { key: 'test_ssim', scope: 'epoch', steps: [1], values: [ssim] }], loss: null, memory: [] };
    };
    const items = [sr(1, 'glcan', [1], 0, 70, [30, 31], 0.9), sr(2, 'glcan', [1], 1, 70, [31, 32], 0.92), sr(3, 'e2e', [], 0, 100, [33], 0.95), sr(4, 'local', [1], 0, 60, [30.5], 0.91)];
    const groups = groupBySeeds(items, 'epoch');
    expect(groups.map((g) => g.label)).toEqual(['GLCAN (our reading) ×2 K=2', 'E2E ×2 K=1', 'Simple local heads ×2 K=2']);
    expect(groups[0]!.psnr).toMatchObject({ mean: 31.5, n: 2 });
    expect(groups[0]!.accuracy).toBeNull();
    expect(markdownTable(groups)).toBe(
      '| Scale | Method | K | PSNR-Y (dB) | SSIM-Y | Memory / E2E | PSNR gap to E2E (dB) |\n|---|---|---:|---:|---:|---:|---:|\n' +
        '| ×2 | E2E | 1 | 33.00 ± 0.00 | 0.9500 | 1.00 | 0 |\n| ×2 | Simple local heads | 2 | 30.50 ± 0.00 | 0.9100 | 0.60 | -2.50 |\n| ×2 | GLCAN (our reading) | 2 | 31.50 ± 0.71 | 0.9100 | 0.70 | -1.50 |\n',
    );
    expect(latexTable(groups)).toContain('×2 & GLCAN (our reading) & 2 & 31.50 $\\pm$ 0.71 & 0.9100 & 0.70 & -1.50 \\\\');
  });

  it('writes the detection table: mAP in points over seeds, memory as a ratio to end-to-end and the mAP gap in points', () => {
    const det = (id: number, method: string, cuts: number[], seed: number, peak: number, map: number, map50: number): RunComparison => {
      const base = run(id, method, [], seed, peak, { kind: 'detection' });
      const r: Run = { ...base, config: { dataset: 'mnist-canvas', method, cuts, seed }, summary: { ...base.summary, depth: null, modules: method === 'e2e' ? 1 : cuts.length + 1, map, map50 } };
      return { run: r, epochs: [{ key: 'test_map', scope: 'epoch', steps: [1], values: [map] }, { key: 'test_map50', scope: 'epoch', steps: [1], values: [map50] }], loss: null, memory: [] };
    };
    const groups = groupBySeeds([det(1, 'glcan', [1], 0, 50, 0.3, 0.6), det(2, 'e2e', [], 0, 100, 0.4, 0.7), det(3, 'local', [1], 0, 40, 0.2, 0.5)], 'epoch');
    expect(markdownTable(groups)).toBe(
      '| Method | K | mAP@[.5:.95] | mAP@0.5 | Memory / E2E | mAP gap to E2E (points) |\n|---|---:|---:|---:|---:|---:|\n' +
        '| E2E | 1 | 40.0 ± 0.0 | 70.0 | 1.00 | 0 |\n| DGL-style local heads | 2 | 20.0 ± 0.0 | 50.0 | 0.40 | -20.0 |\n| GLCAN (our reading) | 2 | 30.0 ± 0.0 | 60.0 | 0.50 | -10.0 |\n',
    );
  });

  it('exports runs and series as CSV with quoting, tags, timestamps and durations', () => {
    const r = run(7, 'dgl', [[1, 0]], 3, 5, { name: 'DGL, "quoted"', tags: ['a', 'b'] });
    const lines = runsCsv([r]).split('\r\n');
    expect(lines[0]).toBe('id,name,status,method,net,K,dataset,seed,best_test_acc,final_test_acc,epochs,peak_bytes,images_per_second,duration_s,tags,created,started,ended,notes,kind,psnr_y_db,ssim_y,map,map50');
    expect(lines[1]).toBe('7,"DGL, ""quoted""",done,dgl,resnet32,2,mnist,3,,,2,5,100,120,a b,2026-01-01T00:00:00.000Z,2026-01-01T00:00:00.000Z,2026-01-01T00:02:00.000Z,,local-learning,,,,');
    expect(seriesCsv([item(r, [0.5])]).split('\r\n')[1]).toBe('7,"DGL, ""quoted""",epoch,test_acc,1,0.5');
  });
});
