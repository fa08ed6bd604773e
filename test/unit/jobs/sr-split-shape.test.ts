/**
 * The split editor's drawing of the EDSR (shared/engine/edsr-shape.ts) against the engine's own
 * description: the same parameters per unit, the same modules for every cut list, the same
 * even presets, and the settings schema refusing what the engine would refuse.
 */
import { describe, expect, it } from 'vitest';
import { describeEdsr, evenSrCuts, srModuleRanges } from '../../../main/engine/tasks/super-resolution/edsr';
import { drawEdsr, edsrModules, evenEdsrCuts } from '../../../shared/engine/edsr-shape';
import { superResolutionSettings } from '../../../shared/engine/tasks';

describe('EDSR as the split editor draws it', () => {
  it('has the engine\'s parameters and shapes: head, every block, and body conv + upsampler + tail as the engine\'s tail', () => {
    for (const scale of [2, 3, 4] as const) {
      for (const [features, blocks] of [[8, 1], [16, 4], [64, 16]] as const) {
        const engine = describeEdsr({ scale, features, blocks, resScale: 1 }, 12);
        const drawn = drawEdsr({ scale, features, blocks }, 12);
        expect(drawn.map((u) => u.kind)).toEqual(['head', ...Array(blocks).fill('block'), 'body', 'upsampler', 'tail']);
        expect(drawn[0]!.params).toBe(engine[0]!.params);
        for (let b = 0; b < blocks; b++) expect(drawn[1 + b]!.params).toBe(engine[1 + b]!.params);
        expect(drawn.slice(-3).reduce((n, u) => n + u.params, 0)).toBe(engine.at(-1)!.params);
        expect(drawn.at(-1)!.output).toEqual(engine.at(-1)!.output);
      }
    }
  });

  it('groups units into the engine\'s modules for every cut list of a 5-block net, and presets match evenSrCuts', () => {
    const drawn = drawEdsr({ scale: 2, features: 4, blocks: 5 }, 8);
    // Engine unit index: head 0, block b = 1 + b, tail 6; drawn: body/upsampler/tail are the engine's tail.
    const engineIndex = (u: (typeof drawn)[number]) => (u.kind === 'head' ? 0 : u.kind === 'block' ? 1 + u.block : 6);
    for (let mask = 0; mask < 32; mask++) {
      const cuts = [0, 1, 2, 3, 4].filter((b) => mask & (1 << b));
      const modules = edsrModules(drawn, cuts).map((m) => [...new Set(m.map(engineIndex))]);
      const ranges = srModuleRanges(5, cuts).map(({ first, last }) => Array.from({ length: last - first + 1 }, (_, i) => first + i));
      expect(modules).toEqual(ranges);
    }
    for (const [blocks, k] of [[16, 4], [5, 2], [7, 3], [4, 4], [1, 1]]) expect(evenEdsrCuts(blocks!, k!)).toEqual(evenSrCuts(blocks!, k!));
  });

  it('settings: defaults resolved, and every refusal names its field', () => {
    expect(superResolutionSettings.parse({ dataset: 'ds-1' })).toMatchObject({ scale: 2, features: 16, blocks: 4, method: 'e2e', cuts: [], epochs: 2, stepsPerEpoch: 20, patch: 24 });
    const problems = (input: object) => {
      const parsed = superResolutionSettings.safeParse({ dataset: 'ds-1', ...input });
      return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(problems({ method: 'glcan', cuts: [1], glcan: { bank: 'none' } })).toEqual([]);
    expect(problems({ method: 'local', cuts: [1], glcan: {} })).toEqual(['glcan: only GLCAN reads these settings; remove them or choose glcan']);
    expect(problems({ method: 'glcan', cuts: [1], localConvs: 3 })).toEqual(['localConvs: only the simple local heads read this; remove it or choose local']);
    expect(problems({ method: 'glcan', cuts: [2, 2] })).toEqual(['cuts: a cut is listed twice']);
    expect(problems({ features: 0 })[0]).toMatch(/^features: /);
    expect(problems({ dataset: '' })[0]).toBe('dataset: choose an image folder from the Data sets workspace');
  });
});

describe('the detector as the split editor draws it', () => {
  it('has the engine\'s parameters and shapes: stem, every block, and FPN + head as the engine\'s tail; modules as the trainer cuts them', async () => {
    const { describeDetector, DETECTOR_DEFAULTS } = await import('../../../main/engine/tasks/detection/detector');
    const { drawDetector, detModules } = await import('../../../shared/engine/detector-shape');
    const { srModuleRanges: ranges } = await import('../../../main/engine/tasks/super-resolution/edsr');
    for (const [size, blocksPerStage, towerConvs] of [[64, 1, 2], [32, 2, 1], [96, 1, 0]] as const) {
      const config = { ...DETECTOR_DEFAULTS, channels: 1 as const, classes: 10, widths: [8, 12, 16, 20] as [number, number, number, number], blocksPerStage, fpn: 6, towerConvs };
      const engine = describeDetector(config, size);
      const drawn = drawDetector(config, size);
      expect(drawn.slice(0, -2).map((u) => [u.params, u.output])).toEqual(engine.slice(0, -1).map((u) => [u.params, u.output]));
      expect(drawn.at(-2)!.params + drawn.at(-1)!.params).toBe(engine.at(-1)!.params);
      expect(drawn.at(-1)!.output).toEqual(engine.at(-1)!.output);
      const blocks = 4 * blocksPerStage;
      // Engine unit index: stem 0, block b = 1 + b, tail = blocks + 1.
      const engineIndex = (u: (typeof drawn)[number]) => (u.kind === 'stem' ? 0 : u.kind === 'block' ? 1 + u.block : blocks + 1);
      for (const cuts of [[0], [1, 2], [blocks - 1], [0, blocks - 1]]) {
        const modules = detModules(drawn, cuts).map((m) => [...new Set(m.map(engineIndex))]);
        expect(modules).toEqual(ranges(blocks, cuts).map(({ first, last }) => Array.from({ length: last - first + 1 }, (_, i) => first + i)));
      }
    }
  });
});
