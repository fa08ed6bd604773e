/**
 * A trained super-resolution EDSR as a standard TF.js layers model (model.json + one shard) with
 * a card.json, like classification's export (./tfjs-export.ts): any TF.js app loads it with
 * tf.loadLayersModel, without this code base. The auxiliary nets of the local methods (simple
 * heads, GLCAN's branches) are training scaffolding and are not exported.
 *
 * Rebuilt exactly from the run's weights with stock layers: EDSR's mean shift is a fixed 1x1 conv
 * (x - mean, no padding at the border to differ from ours) and its add-back is folded into the
 * last conv's bias; a residual scaling other than 1 is folded into each block's second conv; the
 * pixel shuffle is Reshape [H, W, r, rC] -> Permute -> Reshape [rH, rW, C] (tfjs-layers has no
 * depth-to-space layer), which fixes the input size: the model takes LR images of exactly the
 * size the card names.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type EdsrModel, RGB_MEAN } from '../tasks/super-resolution/edsr';
import { CARD_FILE, checkExportDir, droppedBy, MODEL_FILE, SHARD_FILE, writeExport } from './tfjs-export';

export const SR_INPUT_NAME = 'low_res';
export const SR_OUTPUT_NAME = 'super_res';

export interface SrModelCard {
  format: 'blockwise-sr-model-card/1';
  task: 'super-resolution';
  net: 'edsr';
  scale: number;
  features: number;
  blocks: number;
  /** [height, width, 3] of the low-resolution input (fixed: see the module comment). */
  inputShape: [number, number, number];
  outputShape: [number, number, number];
  input: string;
  output: string;
  /** What the values mean. */
  inputRange: string;
  outputRange: string;
  runId: number | null;
  method: string | null;
  cuts: number[];
  dataset: { id: string; name: string } | null;
  /** The run's last evaluation: PSNR-Y (dB) and SSIM-Y, `scale` px cropped from each border, 8-bit output. */
  psnr: number | null;
  ssim: number | null;
  backend: string | null;
  dropped: string[];
  date: string;
  files: { model: string; weights: string };
}

export type SrTrainingFacts = Pick<SrModelCard, 'runId' | 'method' | 'cuts' | 'dataset' | 'psnr' | 'ssim' | 'backend'>;

type Assign = { layer: tfl.layers.Layer; weights: tf.Tensor[] }[];

function conv(x: tfl.SymbolicTensor, name: string, kernel: tf.Tensor, bias: tf.Tensor, assign: Assign, relu = false): tfl.SymbolicTensor {
  const size = kernel.shape[0]!;
  const layer = tfl.layers.conv2d({ filters: kernel.shape[3]!, kernelSize: size, padding: 'same', useBias: true, activation: relu ? 'relu' : 'linear', name });
  const out = layer.apply(x) as tfl.SymbolicTensor;
  assign.push({ layer, weights: [kernel, bias] });
  return out;
}

const add = (a: tfl.SymbolicTensor, b: tfl.SymbolicTensor, name: string) => tfl.layers.add({ name }).apply([a, b]) as tfl.SymbolicTensor;

function pixelShuffle(x: tfl.SymbolicTensor, r: number, name: string): tfl.SymbolicTensor {
  const [, h, w, depth] = x.shape as [null, number, number, number];
  const c = depth / (r * r);
  const split = tfl.layers.reshape({ targetShape: [h, w, r, r * c], name: `${name}_split` }).apply(x) as tfl.SymbolicTensor;
  const rows = tfl.layers.permute({ dims: [1, 3, 2, 4], name: `${name}_rows` }).apply(split) as tfl.SymbolicTensor;
  return tfl.layers.reshape({ targetShape: [h * r, w * r, c], name }).apply(rows) as tfl.SymbolicTensor;
}

/** A layers model computing `model.forward` on LR images of lrSize x lrSize; the caller disposes it and the tensors it made. */
export function toSrLayersModel(model: EdsrModel, lrSize: number): { layersModel: tfl.LayersModel; made: tf.Tensor[] } {
  const { scale, blocks, resScale } = model.config;
  const vars = model.trainableVariables();
  let at = 0;
  const next = () => vars[at++]!;
  const made: tf.Tensor[] = [];
  const keep = (t: tf.Tensor) => (made.push(t), t);
  const assign: Assign = [];

  const input = tfl.input({ shape: [lrSize, lrSize, 3], name: SR_INPUT_NAME });
  const shift = keep(tf.reshape(tf.eye(3), [1, 1, 3, 3]));
  let h = conv(input, 'sub_mean', shift, keep(tf.neg(tf.tensor1d([...RGB_MEAN]))), assign);
  const f0 = conv(h, 'head', next(), next(), assign);
  h = f0;
  for (let b = 0; b < blocks; b++) {
    const r = conv(h, `block${b}_conv1`, next(), next(), assign, true);
    const [w2, b2] = [next(), next()];
    const scaled = resScale === 1 ? [w2, b2] : [keep(tf.mul(w2, resScale)), keep(tf.mul(b2, resScale))];
    h = add(h, conv(r, `block${b}_conv2`, scaled[0]!, scaled[1]!, assign), `block${b}_add`);
  }
  h = add(conv(h, 'body', next(), next(), assign), f0, 'global_skip');
  const factors = scale === 3 ? [3] : scale === 2 ? [2] : [2, 2];
  factors.forEach((r, i) => {
    h = pixelShuffle(conv(h, `upsample${i}_conv`, next(), next(), assign), r, `upsample${i}_shuffle`);
  });
  const [wLast, bLast] = [next(), next()];
  const out = conv(h, SR_OUTPUT_NAME, wLast, keep(tf.add(bLast, tf.tensor1d([...RGB_MEAN]))), assign);
  if (at !== vars.length) throw new Error(`The EDSR has ${vars.length} variables; the export used ${at}`);
  const layersModel = tfl.model({ inputs: input, outputs: out, name: 'edsr' });
  for (const { layer, weights } of assign) layer.setWeights(weights);
  return { layersModel, made };
}

/** Export `model` for LR inputs of lrSize x lrSize into the new or empty folder `dir`. */
export async function exportSrModel(model: EdsrModel, dir: string, lrSize: number, facts: SrTrainingFacts, now = new Date()): Promise<{ dir: string; files: { name: string; bytes: number }[]; bytes: number; card: SrModelCard }> {
  checkExportDir(dir);
  const { scale, features, blocks } = model.config;
  const card: SrModelCard = {
    format: 'blockwise-sr-model-card/1',
    task: 'super-resolution',
    net: 'edsr',
    scale,
    features,
    blocks,
    inputShape: [lrSize, lrSize, 3],
    outputShape: [lrSize * scale, lrSize * scale, 3],
    input: SR_INPUT_NAME,
    output: SR_OUTPUT_NAME,
    inputRange: 'RGB in [0, 1] (pixel / 255), NHWC',
    outputRange: 'RGB in [0, 1], not clipped: clip to [0, 1] and round to 8 bits as the scores were computed',
    ...facts,
    dropped: droppedBy(facts.method),
    date: now.toISOString(),
    files: { model: MODEL_FILE, weights: SHARD_FILE },
  };
  const { layersModel, made } = toSrLayersModel(model, lrSize);
  try {
    return { dir, ...(await writeExport(dir, layersModel, card)), card };
  } finally {
    layersModel.dispose();
    tf.dispose(made);
  }
}

export const readSrCard = (dir: string): SrModelCard => JSON.parse(fs.readFileSync(path.join(dir, CARD_FILE), 'utf8')) as SrModelCard;
