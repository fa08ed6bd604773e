/**
 * Our ResNet (plain tfjs-core ops and tf.Variables) rebuilt as a standard tf.layers model with
 * the same weights, so any TF.js app can load and run it without this code base. Only the
 * backbone and the real head exist in a ResNetModel: the auxiliary nets of local learning live
 * in the trainer and are never exported. Inference only: BatchNorm uses the running statistics.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { BN_EPSILON, BN_MOMENTUM } from '../nets/batch-norm';
import { blockStride, type ResNetModel, type UnitModel } from '../nets/resnet-model';

/** Name of the model's input, written in model.json. */
export const INPUT_NAME = 'image';
/** Name of the model's output layer: logits [N, classes], no softmax (as model.forward). */
export const OUTPUT_NAME = 'logits';

/** A conv + BatchNorm pair's weights as our units hold them. */
export interface ConvBn {
  kernel: tf.Variable;
  gamma: tf.Variable;
  beta: tf.Variable;
  mean: tf.Variable;
  variance: tf.Variable;
}

/** Every layer whose weights are ours, with the tensors to give it, in setWeights order. */
export type Assignments = { layer: { setWeights(weights: tf.Tensor[]): void }; weights: tf.Tensor[] }[];

/**
 * Units expose their variables, not their fields: trainable [conv, gamma, beta] per conv + BN
 * pair (blocks: conv1, conv2, then the shortcut's), state [mean, var] per BatchNorm in the same
 * order (resnet-model.ts). Reading them in that order is checked by shape here and by the
 * prediction tests end to end.
 */
export function convBns(unit: Pick<UnitModel, 'trainableVariables' | 'stateVariables' | 'unit'>): ConvBn[] {
  const trainable = unit.trainableVariables;
  const state = unit.stateVariables;
  const pairs = state.length / 2;
  if (trainable.length !== pairs * 3) throw new Error(`${describe(unit)} has ${trainable.length} trainable and ${state.length} state variables: not conv + BatchNorm pairs`);
  return Array.from({ length: pairs }, (_, i) => {
    const [kernel, gamma, beta] = trainable.slice(3 * i, 3 * i + 3) as [tf.Variable, tf.Variable, tf.Variable];
    const [mean, variance] = state.slice(2 * i, 2 * i + 2) as [tf.Variable, tf.Variable];
    const channels = kernel.shape[3];
    if (kernel.rank !== 4 || [gamma, beta, mean, variance].some((v) => v.rank !== 1 || v.shape[0] !== channels)) {
      throw new Error(`${describe(unit)}: variables in an unexpected order (conv [${kernel.shape}], BatchNorm [${gamma.shape}])`);
    }
    return { kernel, gamma, beta, mean, variance };
  });
}

const describe = (unit: Pick<UnitModel, 'unit'>): string => `${unit.unit.kind} (stage ${unit.unit.stage}, block ${unit.unit.block})`;

/** conv (no bias) + BatchNorm with PyTorch's eps; `pad` adds PyTorch's explicit padding 1 first. */
export function convBn(x: tfl.SymbolicTensor, w: ConvBn, name: string, stride: number, assign: Assignments): tfl.SymbolicTensor {
  const size = w.kernel.shape[0]!;
  // At stride 1 a 3x3 'same' is PyTorch's padding 1; at stride 2 'same' pads only bottom/right
  // on even sizes, so PyTorch's symmetric padding is its own layer. A 1x1 conv is 'valid'.
  const padded = size === 3 && stride !== 1;
  let h = x;
  if (padded) h = tfl.layers.zeroPadding2d({ padding: 1, name: `${name}_pad` }).apply(h) as tfl.SymbolicTensor;
  const conv = tfl.layers.conv2d({ filters: w.kernel.shape[3]!, kernelSize: size, strides: stride, padding: size === 3 && !padded ? 'same' : 'valid', useBias: false, name: `${name}_conv` });
  h = conv.apply(h) as tfl.SymbolicTensor;
  // Keras momentum is the weight of the old value, PyTorch's of the new: only matters to fine-tuning.
  const bn = tfl.layers.batchNormalization({ axis: -1, epsilon: BN_EPSILON, momentum: 1 - BN_MOMENTUM, name: `${name}_bn` });
  h = bn.apply(h) as tfl.SymbolicTensor;
  assign.push({ layer: conv, weights: [w.kernel] }, { layer: bn, weights: [w.gamma, w.beta, w.mean, w.variance] });
  return h;
}

export const relu = (x: tfl.SymbolicTensor, name: string): tfl.SymbolicTensor => tfl.layers.activation({ activation: 'relu', name }).apply(x) as tfl.SymbolicTensor;

/** Mirrors describeResNet: the first block of stages 2 and 3 downsamples. */

/** A BasicBlock (conv-BN-ReLU, conv-BN, + shortcut, ReLU) as layers; the detector's backbone reuses it. */
export function basicBlock(h: tfl.SymbolicTensor, unit: Pick<UnitModel, 'trainableVariables' | 'stateVariables' | 'unit'>, name: string, assign: Assignments): tfl.SymbolicTensor {
  const [w1, w2, shortcut] = convBns(unit) as [ConvBn, ConvBn, ConvBn | undefined];
  const stride = blockStride(unit.unit);
  const main = convBn(relu(convBn(h, w1, `${name}_1`, stride, assign), `${name}_1_relu`), w2, `${name}_2`, 1, assign);
  const skip = shortcut ? convBn(h, shortcut, `${name}_shortcut`, stride, assign) : h;
  return relu(tfl.layers.add({ name: `${name}_add` }).apply([main, skip]) as tfl.SymbolicTensor, `${name}_relu`);
}

/**
 * A tf.layers model computing `model.forward(x, false)`: input [N, H, W, C] normalised as for
 * training, output logits [N, classes]. It holds the weights' current values: a later assign to
 * `model`'s variables gives them new tensors and leaves these alone. The caller disposes it.
 */
export function toLayersModel(model: ResNetModel): tfl.LayersModel {
  const { height, width, channels } = model.input;
  const assign: Assignments = [];
  const input = tfl.input({ shape: [height, width, channels], name: INPUT_NAME });
  let h = input;
  for (const unit of model.units) {
    const { kind, stage, block } = unit.unit;
    if (kind === 'stem') {
      const [w] = convBns(unit) as [ConvBn];
      h = relu(convBn(h, w, 'stem', 1, assign), 'stem_relu');
    } else if (kind === 'block') {
      h = basicBlock(h, unit, `stage${stage}_block${block}`, assign);
    } else {
      const [kernel, bias] = unit.trainableVariables as [tf.Variable, tf.Variable];
      h = tfl.layers.globalAveragePooling2d({ name: 'head_pool' }).apply(h) as tfl.SymbolicTensor;
      // Our head weight is stored [in, out] (x @ W), exactly a Dense kernel.
      const dense = tfl.layers.dense({ units: model.classes, name: OUTPUT_NAME });
      h = dense.apply(h) as tfl.SymbolicTensor;
      assign.push({ layer: dense, weights: [kernel, bias] });
    }
    const expected = unit.unit.output.join(',');
    if (h.shape.slice(1).join(',') !== expected) throw new Error(`${describe(unit)} gives [${h.shape.slice(1)}] in the exported model but [${expected}] in ours`);
  }
  const layersModel = tfl.model({ inputs: input, outputs: h, name: `resnet${model.depth}` });
  try {
    for (const { layer, weights } of assign) layer.setWeights(weights);
  } catch (error) {
    layersModel.dispose();
    throw error;
  }
  return layersModel;
}
