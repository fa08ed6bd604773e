/**
 * The FCOS-style detector as the split editor draws it (no tensors: the renderer reads this):
 * stem, the ResNet backbone's blocks stage by stage (C3-C5 marked as the FPN's inputs), the FPN
 * (P3-P5) and the shared FCOS head, with output shapes and parameter counts. The engine's own
 * description (main/engine/tasks/detection/detector.ts: describeDetector) counts FPN and head as
 * one `tail` unit; a test keeps the two equal. Cuts are backbone block indices, as for the EDSR
 * (./edsr-shape.ts): the stem rides with the first module, FPN and head with the last.
 */

export type DetDrawnKind = 'stem' | 'block' | 'fpn' | 'head';

export interface DetDrawnUnit {
  index: number;
  kind: DetDrawnKind;
  /** Backbone block index (0-based, stem excluded) for blocks; -1 otherwise. */
  block: number;
  label: string;
  output: number[];
  params: number;
}

export interface DetShapeConfig {
  channels: number;
  classes: number;
  widths: readonly number[];
  blocksPerStage: number;
  fpn: number;
  towerConvs: number;
}

const conv = (cin: number, cout: number) => 9 * cin * cout + cout;
const bn = (c: number) => 2 * c;
/** A map's side after stride-2 convs with padding 1 (n -> ceil(n / 2) each). */
const side = (size: number, stride: number) => {
  let n = size;
  for (let s = 1; s < stride; s *= 2) n = Math.ceil(n / 2);
  return n;
};

export function drawDetector(c: DetShapeConfig, size: number): DetDrawnUnit[] {
  const units: Omit<DetDrawnUnit, 'index'>[] = [{ kind: 'stem', block: -1, label: 'Stem (conv 3×3 /2, BN)', output: [side(size, 2), side(size, 2), c.widths[0]!], params: 9 * c.channels * c.widths[0]! + bn(c.widths[0]!) }];
  let cin = c.widths[0]!;
  let block = 0;
  c.widths.forEach((width, s) => {
    const stride = 4 * 2 ** s;
    for (let b = 0; b < c.blocksPerStage; b++) {
      const projection = b === 0;
      const tap = s >= 1 && b === c.blocksPerStage - 1 ? ` → C${s + 2}` : '';
      units.push({ kind: 'block', block: block++, label: `Stage ${s + 2} block ${b + 1}${tap}`, output: [side(size, stride), side(size, stride), width], params: 9 * cin * width + bn(width) + 9 * width * width + bn(width) + (projection ? cin * width + bn(width) : 0) });
      cin = width;
    }
  });
  const locations = [8, 16, 32].reduce((n, stride) => n + side(size, stride) ** 2, 0);
  const fpnParams = c.widths.slice(1).reduce((n, w) => n + w * c.fpn + c.fpn + 9 * c.fpn * c.fpn + c.fpn, 0);
  units.push({ kind: 'fpn', block: -1, label: 'FPN (P3–P5)', output: [side(size, 8), side(size, 8), c.fpn], params: fpnParams });
  units.push({ kind: 'head', block: -1, label: 'FCOS head (class, box, centerness)', output: [locations, c.classes + 5], params: 2 * c.towerConvs * conv(c.fpn, c.fpn) + conv(c.fpn, c.classes) + conv(c.fpn, 4) + conv(c.fpn, 1) });
  return units.map((u, index) => ({ ...u, index }));
}

/** The drawn units of each module for a cut list (backbone block indices a module ends after). */
export function detModules(units: readonly DetDrawnUnit[], cuts: readonly number[]): DetDrawnUnit[][] {
  const ends = new Set(cuts);
  const modules: DetDrawnUnit[][] = [[]];
  for (const unit of units) {
    modules.at(-1)!.push(unit);
    if (unit.kind === 'block' && ends.has(unit.block)) modules.push([]);
  }
  return modules.filter((m) => m.length);
}
