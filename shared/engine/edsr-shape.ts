/**
 * The EDSR super-resolution net as the split editor draws it (no tensors: the renderer reads
 * this): head, residual blocks, body conv, upsampler and tail conv, each with its output shape
 * and parameter count, and how a cut list groups them into local modules. The engine's own
 * description (main/engine/tasks/super-resolution/edsr.ts: describeEdsr, srModuleRanges,
 * evenSrCuts) counts the body conv, upsampler and tail conv as one `tail` unit; a test keeps
 * the two equal.
 */

export type EdsrDrawnKind = 'head' | 'block' | 'body' | 'upsampler' | 'tail';

export interface EdsrDrawnUnit {
  index: number;
  kind: EdsrDrawnKind;
  /** Residual block index for blocks; -1 otherwise. */
  block: number;
  label: string;
  /** [H, W, C] for an LR input of lrSize x lrSize. */
  output: [number, number, number];
  params: number;
}

export interface EdsrShapeConfig {
  scale: 2 | 3 | 4;
  features: number;
  blocks: number;
}

const conv = (cin: number, cout: number) => 9 * cin * cout + cout;

export function drawEdsr({ scale, features: f, blocks }: EdsrShapeConfig, lrSize: number): EdsrDrawnUnit[] {
  const map: [number, number, number] = [lrSize, lrSize, f];
  const stages = scale === 3 ? [3] : scale === 2 ? [2] : [2, 2];
  const units: Omit<EdsrDrawnUnit, 'index'>[] = [
    { kind: 'head', block: -1, label: 'Head (mean shift, conv 3→F)', output: map, params: conv(3, f) },
    ...Array.from({ length: blocks }, (_, b) => ({ kind: 'block' as const, block: b, label: `Res block ${b + 1}`, output: map, params: 2 * conv(f, f) })),
    { kind: 'body', block: -1, label: 'Body conv (+ global skip)', output: map, params: conv(f, f) },
    { kind: 'upsampler', block: -1, label: `Upsampler ×${scale} (pixel shuffle)`, output: [lrSize * scale, lrSize * scale, f], params: stages.reduce((n, r) => n + conv(f, r * r * f), 0) },
    { kind: 'tail', block: -1, label: 'Tail conv F→3 (+ mean)', output: [lrSize * scale, lrSize * scale, 3], params: conv(f, 3) },
  ];
  return units.map((u, index) => ({ ...u, index }));
}

/**
 * The drawn units of each module for a cut list (block indices a module ends after): the head
 * rides with the first module, body conv, upsampler and tail with the last. Cuts must be valid
 * (shared/engine/tasks.ts checks them).
 */
export function edsrModules(units: readonly EdsrDrawnUnit[], cuts: readonly number[]): EdsrDrawnUnit[][] {
  const ends = new Set(cuts);
  const modules: EdsrDrawnUnit[][] = [[]];
  for (const unit of units) {
    modules.at(-1)!.push(unit);
    if (unit.kind === 'block' && ends.has(unit.block)) modules.push([]);
  }
  // Cut after the last block: the body conv, upsampler and tail are a module of their own (as the engine's srModuleRanges).
  return modules.filter((m) => m.length);
}

/** K modules with the residual blocks shared as evenly as possible, earlier modules taking the extra ones (the engine's evenSrCuts). */
export function evenEdsrCuts(blocks: number, k: number): number[] {
  const cuts: number[] = [];
  let end = 0;
  for (let i = 0; i < k - 1; i++) {
    end += Math.ceil((blocks - end) / (k - i));
    cuts.push(end - 1);
  }
  return cuts;
}
