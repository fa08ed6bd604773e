import { describe, expect, it } from 'vitest';
import { blocksPerStage, describeResNet, RESNET_DEPTHS } from '../../../shared/engine/resnet';
import { evenCuts, perBlockCuts, segmentsFor, SplitError, splitPresets, validateCuts } from '../../../shared/engine/splits';

describe('ResNet description', () => {
  it('has the CIFAR feature maps of methods.md 0.1 for every input size', () => {
    const stageOutputs = (size: number, channels: number) =>
      [1, 2, 3].map((s) => describeResNet(32, { height: size, width: size, channels }, 10).find((u) => u.stage === s)!.output);
    expect(stageOutputs(32, 3)).toEqual([[32, 32, 16], [16, 16, 32], [8, 8, 64]]);
    expect(stageOutputs(96, 3)).toEqual([[96, 96, 16], [48, 48, 32], [24, 24, 64]]);
    expect(stageOutputs(28, 1)).toEqual([[28, 28, 16], [14, 14, 32], [7, 7, 64]]);
  });

  it('orders stem, 3n blocks and head, with projection shortcuts only where the shape changes', () => {
    const units = describeResNet(8, { height: 32, width: 32, channels: 3 }, 10);
    expect(units.map((u) => `${u.kind}:${u.stage}.${u.block}`)).toEqual(['stem:0.0', 'block:1.0', 'block:2.0', 'block:3.0', 'head:4.0']);
    expect(units.filter((u) => u.projection).map((u) => u.stage)).toEqual([2, 3]);
    // Stem 3x3x3x16 + BN; 16->16 block; 16->32 and 32->64 blocks with 1x1 projections; 64->10 head.
    expect(units.map((u) => u.params)).toEqual([432 + 32, 2 * 2304 + 64, 4608 + 64 + 9216 + 64 + 512 + 64, 18432 + 128 + 36864 + 128 + 2048 + 128, 650]);
  });

  it('matches the published sizes of ResNet-32 (0.46M) and ResNet-110 (1.7M)', () => {
    const total = (depth: number) => describeResNet(depth, { height: 32, width: 32, channels: 3 }, 10).reduce((sum, u) => sum + u.params, 0);
    expect(total(32)).toBeGreaterThan(0.46e6);
    expect(total(32)).toBeLessThan(0.47e6);
    expect(total(110)).toBeGreaterThan(1.72e6);
    expect(total(110)).toBeLessThan(1.74e6);
  });

  it('refuses depths that are not 6n + 2 with a list of the valid ones', () => {
    expect(RESNET_DEPTHS.map(blocksPerStage)).toEqual([1, 2, 3, 5, 9, 18]);
    expect(() => blocksPerStage(18)).toThrow('ResNet-18 is not available: choose a depth of 8, 14, 20, 32, 56, 110');
  });
});

describe('splits', () => {
  it('sorts valid cuts and explains invalid ones', () => {
    expect(validateCuts(32, [[3, 0], [1, 2], [2, 1]])).toEqual([[1, 2], [2, 1], [3, 0]]);
    expect(() => validateCuts(32, [[1, 5]])).toThrow('Cut [1, 5] does not exist in ResNet-32: stages are 1 to 3 with blocks 0 to 4 each');
    expect(() => validateCuts(32, [[0, 1]])).toThrow(SplitError);
    expect(() => validateCuts(32, [[3, 4]])).toThrow('is the end of the network');
    expect(() => validateCuts(32, [[1, 1], [1, 1]])).toThrow('listed twice');
    expect(() => validateCuts(32, [[1, 1.5]])).toThrow('pair [stage, block] of whole numbers');
    expect(() => validateCuts(32, [[1] as unknown as number[]])).toThrow('pair [stage, block]');
  });

  it('gives InfoPro a separate stem module and fuses it for HPFF/MAN (ResNet-32 "K=16" has 15 segments)', () => {
    const k16 = splitPresets(32).find((p) => p.id === 'k16')!.cuts;
    expect(segmentsFor(32, k16, 'infopro')).toHaveLength(16);
    expect(segmentsFor(32, k16, 'infopro')[0]).toEqual({ first: 0, last: 0 });
    const fused = segmentsFor(32, k16, 'stem-fused');
    expect(fused).toHaveLength(15);
    expect(fused[0]).toEqual({ first: 0, last: 1 });
    expect(fused.at(-1)).toEqual({ first: 15, last: 15 });
  });

  it('has every paper preset with K modules (K\' = K except the stem-fused 16 and 55)', () => {
    for (const depth of [32, 110]) {
      for (const preset of splitPresets(depth).filter((p) => /^k\d+$/.test(p.id))) {
        const k = Number(preset.id.slice(1));
        expect(segmentsFor(depth, preset.cuts, 'infopro'), `${depth} ${preset.id}`).toHaveLength(k);
        const fused = segmentsFor(depth, preset.cuts, 'stem-fused').length;
        expect(fused, `${depth} ${preset.id} fused`).toBe(k === 16 && depth === 32 ? 15 : k === 55 ? 54 : k);
      }
    }
    // Depths without a table get even splits and the stem-apart finest split (ResNet-8: K = 4).
    expect(splitPresets(8).map((p) => p.id)).toEqual(['k1', 'k2', 'k3', 'k4', 'per-block']);
    expect(splitPresets(8).find((p) => p.id === 'k4')!.cuts).toEqual([[0, 0], [1, 0], [2, 0]]);
    expect(splitPresets(110).map((p) => p.id)).toEqual(expect.arrayContaining(['k2', 'k3', 'k4', 'k8', 'k16', 'k32', 'k55', 'balanced-cifar10-k3', 'balanced-stl10-k4', 'per-block']));
  });

  it('covers every unit exactly once, in order, for every preset of every depth', () => {
    for (const depth of RESNET_DEPTHS) {
      for (const preset of splitPresets(depth)) {
        for (const reading of ['infopro', 'stem-fused'] as const) {
          const modules = segmentsFor(depth, preset.cuts, reading);
          expect(modules[0]!.first).toBe(0);
          expect(modules.at(-1)!.last).toBe(3 * blocksPerStage(depth));
          modules.slice(1).forEach((m, i) => expect(m.first).toBe(modules[i]!.last + 1));
        }
      }
    }
  });

  it('makes even splits and one module per block for the small nets', () => {
    expect(evenCuts(8, 3)).toEqual([[1, 0], [2, 0]]);
    expect(evenCuts(20, 3)).toEqual([[1, 2], [2, 2]]);
    expect(evenCuts(20, 1)).toEqual([]);
    expect(() => evenCuts(8, 4)).toThrow('ResNet-8 has 3 blocks, so K must be 1 to 3');
    expect(perBlockCuts(8)).toEqual([[1, 0], [2, 0]]);
    expect(segmentsFor(8, perBlockCuts(8))).toHaveLength(3);
  });
});
