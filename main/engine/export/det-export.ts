/**
 * A trained detector (../tasks/detection/detector.ts) as a standard TF.js layers model with a
 * card.json, like classification's and super-resolution's exports: backbone (stem and the
 * classification ResNets' own BasicBlocks, ./layers-model.ts), FPN and the FCOS head, rebuilt
 * from the run's weights with stock layers (the head's convs are shared by the three levels, as
 * ours are). The auxiliary nets of the local methods are training scaffolding and are left out.
 *
 * The model's output is the head's raw predictions, [N, L, classes + 5] over the P3, P4, P5
 * locations (row-major, level after level): class logits, 4 box-distance logits and the
 * centerness logit. Turning them into boxes (exp, stride, scores, NMS) is post-processing the
 * card spells out; layers cannot express the level strides without custom layers, which a
 * stock tf.loadLayersModel would refuse.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { DECODE_DEFAULTS } from '../tasks/detection/fcos';
import { type DetectorModel, mapSide, PYRAMID_STRIDES } from '../tasks/detection/detector';
import { type Assignments, basicBlock, convBn, convBns, relu } from './layers-model';
import { CARD_FILE, checkExportDir, droppedBy, MODEL_FILE, SHARD_FILE, writeExport } from './tfjs-export';

export const DET_INPUT_NAME = 'image';
export const DET_OUTPUT_NAME = 'predictions';

export interface DetModelCard {
  format: 'blockwise-det-model-card/1';
  task: 'detection';
  net: 'fcos-resnet-fpn';
  /** [size, size, channels]; pixel / 255, no other normalisation. */
  inputShape: [number, number, number];
  outputShape: [number, number];
  input: string;
  output: string;
  classNames: string[];
  /** The output's channels and how boxes come from them. */
  decoding: {
    channels: string;
    levels: { stride: number; side: number; locations: number }[];
    location: string;
    box: string;
    score: string;
    scoreThreshold: number;
    nmsIou: number;
    maxDetections: number;
  };
  runId: number | null;
  method: string | null;
  cuts: number[];
  dataset: string | null;
  /** The run's last evaluation on its test images, in [0, 1]. */
  map: number | null;
  map50: number | null;
  backend: string | null;
  dropped: string[];
  date: string;
  files: { model: string; weights: string };
}

export type DetTrainingFacts = Pick<DetModelCard, 'runId' | 'method' | 'cuts' | 'dataset' | 'map' | 'map50' | 'backend' | 'classNames'>;

/** One conv layer that may be applied to every level: the same weights, as the FCOS head shares them. */
function sharedConv(name: string, [kernel, bias]: tf.Variable[], assign: Assignments, reluOut = false): (x: tfl.SymbolicTensor) => tfl.SymbolicTensor {
  const layer = tfl.layers.conv2d({ filters: kernel!.shape[3]!, kernelSize: kernel!.shape[0]!, padding: 'same', useBias: true, activation: reluOut ? 'relu' : 'linear', name });
  assign.push({ layer, weights: [kernel!, bias!] });
  return (x) => layer.apply(x) as tfl.SymbolicTensor;
}

const conv = (x: tfl.SymbolicTensor, name: string, variables: tf.Variable[], assign: Assignments): tfl.SymbolicTensor => sharedConv(name, variables, assign)(x);

/** Nearest-neighbour x2, cropped to h x w (as ../tasks/detection/detector.ts upsampleTo). */
function upsampleTo(x: tfl.SymbolicTensor, h: number, w: number, name: string): tfl.SymbolicTensor {
  const [, xh, xw] = x.shape as [null, number, number, number];
  const up = tfl.layers.upSampling2d({ size: [2, 2], name: `${name}_up` }).apply(x) as tfl.SymbolicTensor;
  return 2 * xh === h && 2 * xw === w ? up : (tfl.layers.cropping2D({ cropping: [[0, 2 * xh - h], [0, 2 * xw - w]], name: `${name}_crop` }).apply(up) as tfl.SymbolicTensor);
}

/** A layers model computing the detector's raw predictions (eval-mode BatchNorm) for size x size inputs. */
export function toDetLayersModel(model: DetectorModel, size: number): tfl.LayersModel {
  const { channels, classes, towerConvs } = model.config;
  const assign: Assignments = [];
  const input = tfl.input({ shape: [size, size, channels], name: DET_INPUT_NAME });
  let h = input;
  const taps: tfl.SymbolicTensor[] = [];
  for (const unit of model.units) {
    const { info } = unit;
    if (info.kind === 'stem') {
      const [w] = convBns({ trainableVariables: unit.trainableVariables, stateVariables: unit.stateVariables, unit: { kind: 'stem', stage: 1, block: 0, output: [0, 0, 0], params: 0 } });
      h = relu(convBn(h, w!, 'stem', 2, assign), 'stem_relu');
    } else {
      const shim = { trainableVariables: unit.trainableVariables, stateVariables: unit.stateVariables, unit: { kind: 'block' as const, stage: info.stage, block: info.block, output: [0, 0, 0] as [number, number, number], params: 0 } };
      h = basicBlock(h, shim, `stage${info.stage}_block${info.block}`, assign);
      if (info.tap !== null) taps[info.tap - 3] = h;
    }
  }
  // FPN: 1x1 laterals, top-down nearest upsampling and sums, 3x3 outputs (Conv variables are [weight, bias]).
  const { fpn, head } = model.tail;
  const lateral = taps.map((t, i) => conv(t, `fpn_lateral${i + 3}`, fpn.laterals[i]!.variables, assign));
  const merged: tfl.SymbolicTensor[] = [];
  for (let i = lateral.length - 1; i >= 0; i--) {
    const [, lh, lw] = lateral[i]!.shape as [null, number, number, number];
    merged[i] = i === lateral.length - 1 ? lateral[i]! : (tfl.layers.add({ name: `fpn_merge${i + 3}` }).apply([lateral[i]!, upsampleTo(merged[i + 1]!, lh, lw, `fpn_p${i + 4}`)]) as tfl.SymbolicTensor);
  }
  const levels = merged.map((m, i) => conv(m, `fpn_p${i + 3}`, fpn.outputs[i]!.variables, assign));
  // The head: towers and output convs shared by the three levels.
  const clsTower = head.clsTower.map((c, k) => sharedConv(`head_cls_tower${k}`, c.variables, assign, true));
  const regTower = head.regTower.map((c, k) => sharedConv(`head_reg_tower${k}`, c.variables, assign, true));
  const clsOut = sharedConv('head_cls', head.cls.variables, assign);
  const regOut = sharedConv('head_reg', head.reg.variables, assign);
  const ctrOut = sharedConv('head_ctr', head.ctr.variables, assign);
  const perLevel = levels.map((p, l) => {
    const [, lh, lw] = p.shape as [null, number, number, number];
    const c = clsTower.reduce((x, f) => f(x), p);
    const r = regTower.reduce((x, f) => f(x), p);
    const joined = tfl.layers.concatenate({ axis: -1, name: `head_p${l + 3}_joined` }).apply([clsOut(c), regOut(r), ctrOut(r)]) as tfl.SymbolicTensor;
    return tfl.layers.reshape({ targetShape: [lh * lw, classes + 5], name: `head_p${l + 3}_flat` }).apply(joined) as tfl.SymbolicTensor;
  });
  const out = perLevel.length === 1 ? perLevel[0]! : (tfl.layers.concatenate({ axis: 1, name: DET_OUTPUT_NAME }).apply(perLevel) as tfl.SymbolicTensor);
  if (towerConvs !== head.clsTower.length) throw new Error('The detector head has another number of tower convs than its config says');
  const layersModel = tfl.model({ inputs: input, outputs: out, name: 'fcos' });
  try {
    for (const { layer, weights } of assign) layer.setWeights(weights);
  } catch (error) {
    layersModel.dispose();
    throw error;
  }
  return layersModel;
}

export async function exportDetModel(model: DetectorModel, dir: string, size: number, facts: DetTrainingFacts, now = new Date()) {
  checkExportDir(dir);
  const { classes, channels } = model.config;
  const levels = PYRAMID_STRIDES.map((stride) => ({ stride, side: mapSide(size, stride), locations: mapSide(size, stride) ** 2 }));
  const card: DetModelCard = {
    format: 'blockwise-det-model-card/1',
    task: 'detection',
    net: 'fcos-resnet-fpn',
    inputShape: [size, size, channels],
    outputShape: [levels.reduce((n, l) => n + l.locations, 0), classes + 5],
    input: DET_INPUT_NAME,
    output: DET_OUTPUT_NAME,
    decoding: {
      channels: `0..${classes - 1}: class logits; ${classes}..${classes + 3}: box-distance logits (left, top, right, bottom); ${classes + 4}: centerness logit`,
      levels,
      location: 'location i of a level with side s and stride t is at x = (i mod s) * t + floor(t / 2), y = floor(i / s) * t + floor(t / 2), in input pixels',
      box: 'distance = exp(clip(logit, -8, 8)) * stride; box = (x - left, y - top, x + right, y + bottom), clipped to the image',
      score: 'sqrt(sigmoid(class logit) * sigmoid(centerness logit))',
      scoreThreshold: DECODE_DEFAULTS.scoreThreshold,
      nmsIou: DECODE_DEFAULTS.nmsIou,
      maxDetections: DECODE_DEFAULTS.maxDetections,
    },
    ...facts,
    dropped: droppedBy(facts.method),
    date: now.toISOString(),
    files: { model: MODEL_FILE, weights: SHARD_FILE },
  };
  const layersModel = toDetLayersModel(model, size);
  try {
    return { dir, ...(await writeExport(dir, layersModel, card)), card };
  } finally {
    layersModel.dispose();
  }
}

export const readDetCard = (dir: string): DetModelCard => JSON.parse(fs.readFileSync(path.join(dir, CARD_FILE), 'utf8')) as DetModelCard;
