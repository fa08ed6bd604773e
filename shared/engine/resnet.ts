/**
 * CIFAR-style ResNet-n (../shared/docs/methods.md 0.1) described as an ordered list of units:
 * a stem, three stages of BasicBlocks (widths 16/32/64, first-block strides 1/2/2) and a
 * head. Pure description (shapes and parameter counts), shared by the engine that builds the
 * layers and the split editor that draws them.
 */

/** Depths with n = (depth - 2) / 6 blocks per stage. */
export const RESNET_DEPTHS = [8, 14, 20, 32, 56, 110] as const;
export type ResNetDepth = (typeof RESNET_DEPTHS)[number];

export const STAGE_WIDTHS = [16, 32, 64] as const;
const STEM_WIDTH = 16;

export interface InputShape {
  height: number;
  width: number;
  channels: number;
}

export interface Unit {
  kind: 'stem' | 'block' | 'head';
  /** 0 for the stem, 1..3 for blocks, 4 for the head. */
  stage: number;
  /** Block index within its stage, 0-based; 0 for the stem and head. */
  block: number;
  /** Output shape [height, width, channels]; the head's is [classes]. */
  output: number[];
  /** Trainable parameters (conv weights, BatchNorm gamma and beta, linear weights and bias). */
  params: number;
  /** Whether this block downsamples and changes width (1x1 conv + BN shortcut). */
  projection?: boolean;
}

export function blocksPerStage(depth: number): number {
  if (!(RESNET_DEPTHS as readonly number[]).includes(depth)) {
    throw new RangeError(`ResNet-${depth} is not available: choose a depth of ${RESNET_DEPTHS.join(', ')} (6n + 2 with n blocks per stage).`);
  }
  return (depth - 2) / 6;
}

const conv = (k: number, cin: number, cout: number) => k * k * cin * cout;
const bn = (c: number) => 2 * c;
/** 'same' padding output size for a 3x3 (or 1x1) conv with this stride, as PyTorch computes it with pad 1 (or 0). */
const strided = (size: number, stride: number) => Math.floor((size - 1) / stride) + 1;

export function describeResNet(depth: number, input: InputShape, classes: number): Unit[] {
  const n = blocksPerStage(depth);
  if (!(input.height >= 1 && input.width >= 1 && input.channels >= 1)) throw new RangeError(`input shape ${JSON.stringify(input)} must have positive sizes`);
  if (!(Number.isInteger(classes) && classes >= 2)) throw new RangeError(`a classifier needs at least 2 classes, got ${classes}`);
  const units: Unit[] = [{ kind: 'stem', stage: 0, block: 0, output: [input.height, input.width, STEM_WIDTH], params: conv(3, input.channels, STEM_WIDTH) + bn(STEM_WIDTH) }];
  let [h, w, c] = [input.height, input.width, STEM_WIDTH];
  STAGE_WIDTHS.forEach((width, s) => {
    for (let b = 0; b < n; b++) {
      const stride = b === 0 && s > 0 ? 2 : 1;
      const projection = stride !== 1 || c !== width;
      h = strided(h, stride);
      w = strided(w, stride);
      const params = conv(3, c, width) + bn(width) + conv(3, width, width) + bn(width) + (projection ? conv(1, c, width) + bn(width) : 0);
      units.push({ kind: 'block', stage: s + 1, block: b, output: [h, w, width], params, projection });
      c = width;
    }
  });
  units.push({ kind: 'head', stage: 4, block: 0, output: [classes], params: c * classes + classes });
  return units;
}
