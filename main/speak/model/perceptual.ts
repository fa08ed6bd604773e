/**
 * Perceptual loss L_perc in place of SPEAK's L_vgg (VGG weights cannot be downloaded here): the L1
 * distance between features of a REAL pretrained face network, the first dense blocks of
 * face-api's 68-point landmark net (its FaceFeatureExtractor, trained on real faces), for the
 * generated and the real frame. The blocks are re-run here with face-api's own weight tensors
 * (frozen: plain tensors, never in an optimiser's var list) so gradients flow to the generated
 * frame. Each 3x3 depthwise conv is run as a full conv2d with a block-diagonal filter: the same
 * values, but its input gradient (Conv2DBackpropInput) exists on wasm, whose depthwise
 * backprop kernels are missing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadFaceApi } from '../instruments/face-api-runtime';

/** face-api's feature extractor input: 112 px, minus this mean (0..255), divided by 255. */
const INPUT_SIDE = 112;
const MEAN_RGB = [122.782, 117.001, 104.298];

interface SeparableWeights {
  depthwise_filter: tf.Tensor4D;
  pointwise_filter: tf.Tensor4D;
  bias: tf.Tensor1D;
}
interface DenseBlockWeights {
  conv0: SeparableWeights | { filters: tf.Tensor4D; bias: tf.Tensor1D };
  conv1: SeparableWeights;
  conv2: SeparableWeights;
  conv3: SeparableWeights;
}

export interface PerceptualSettings {
  /** Dense blocks used (1..4): block b gives (112 / 2^b) px maps of 32, 64, 128, 256 channels. */
  blocks: number;
}

export const PERCEPTUAL_DEFAULTS: PerceptualSettings = { blocks: 2 };

export interface PerceptualNet {
  /** Feature maps of each used block for frames [N, S, S, 3] in [0, 1]. */
  features(frames: tf.Tensor4D): tf.Tensor4D[];
  /** Mean over blocks of the mean absolute feature difference. */
  loss(real: tf.Tensor4D, generated: tf.Tensor4D): tf.Scalar;
  /** Weights it runs (face-api's, frozen), counted. */
  weightCount: number;
  dispose(): void;
}

/** Depthwise [3, 3, C, 1] as a block-diagonal full filter [3, 3, C, C]. */
function blockDiagonal(depthwise: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const c = depthwise.shape[2];
    return tf.mul(depthwise, tf.reshape(tf.eye(c), [1, 1, c, c])) as tf.Tensor4D;
  });
}

interface Separable {
  full: tf.Tensor4D;
  pointwise: tf.Tensor4D;
  bias: tf.Tensor1D;
}

function separable(x: tf.Tensor4D, s: Separable, stride: number): tf.Tensor4D {
  return tf.add(tf.conv2d(tf.conv2d(x, s.full, stride, 'same'), s.pointwise, 1, 'same'), s.bias);
}

/** face-api's denseBlock4, with our separable conv. */
function denseBlock(x: tf.Tensor4D, b: { first?: { filters: tf.Tensor4D; bias: tf.Tensor1D }; convs: Separable[] }): tf.Tensor4D {
  const out1 = tf.relu(b.first ? tf.add(tf.conv2d(x, b.first.filters, 2, 'same'), b.first.bias) : separable(x, b.convs[0]!, 2)) as tf.Tensor4D;
  const [c1, c2, c3] = b.first ? (b.convs as [Separable, Separable, Separable]) : (b.convs.slice(1) as [Separable, Separable, Separable]);
  const out2 = separable(out1, c1, 1);
  const out3 = separable(tf.relu(tf.add(out1, out2)) as tf.Tensor4D, c2, 1);
  const out4 = separable(tf.relu(tf.add(out1, tf.add(out2, out3))) as tf.Tensor4D, c3, 1);
  return tf.relu(tf.add(out1, tf.add(out2, tf.add(out3, out4)))) as tf.Tensor4D;
}

/** Loads face-api (once per thread) and builds the perceptual net on its landmark net's weights. */
export async function createPerceptual(settings: PerceptualSettings = PERCEPTUAL_DEFAULTS): Promise<PerceptualNet> {
  if (!Number.isInteger(settings.blocks) || settings.blocks < 1 || settings.blocks > 4) throw new Error(`perceptual: blocks must be 1..4 (face-api's dense blocks), got ${settings.blocks}`);
  const { api } = await loadFaceApi();
  const extractor = (api.nets.faceLandmark68Net as unknown as { faceFeatureExtractor?: { params?: Record<string, DenseBlockWeights> } }).faceFeatureExtractor;
  const params = extractor?.params;
  if (!params?.dense0) throw new Error('perceptual: face-api\'s 68-point landmark net has no loaded feature extractor weights (faceFeatureExtractor.params); is its model file present?');
  const owned: tf.Tensor[] = [];
  let weightCount = 0;
  const toSeparable = (s: SeparableWeights): Separable => {
    const full = blockDiagonal(s.depthwise_filter);
    owned.push(full);
    weightCount += s.depthwise_filter.size + s.pointwise_filter.size + s.bias.size;
    return { full, pointwise: s.pointwise_filter, bias: s.bias };
  };
  const blocks = ['dense0', 'dense1', 'dense2', 'dense3'].slice(0, settings.blocks).map((name, i) => {
    const w = params[name]!;
    if (i === 0) {
      const first = w.conv0 as { filters: tf.Tensor4D; bias: tf.Tensor1D };
      weightCount += first.filters.size + first.bias.size;
      return { first, convs: [toSeparable(w.conv1), toSeparable(w.conv2), toSeparable(w.conv3)] };
    }
    return { convs: [toSeparable(w.conv0 as SeparableWeights), toSeparable(w.conv1), toSeparable(w.conv2), toSeparable(w.conv3)] };
  });
  const mean = tf.tensor1d(MEAN_RGB.map((m) => m / 255));
  owned.push(mean);

  const features = (frames: tf.Tensor4D): tf.Tensor4D[] => {
    let x = tf.sub(tf.image.resizeBilinear(frames, [INPUT_SIDE, INPUT_SIDE]), mean) as tf.Tensor4D;
    const out: tf.Tensor4D[] = [];
    for (const b of blocks) {
      x = denseBlock(x, b);
      out.push(x);
    }
    return out;
  };
  return {
    features,
    loss(real, generated) {
      const fr = features(real);
      const fg = features(generated);
      return tf.div(tf.addN(fr.map((r, i) => tf.mean(tf.abs(tf.sub(r, fg[i]!))))), fr.length) as tf.Scalar;
    },
    weightCount,
    dispose: () => tf.dispose(owned),
  };
}
