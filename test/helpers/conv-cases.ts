/**
 * The convolution geometries a conv net's training uses (strided, padded, 1x1, odd and
 * non-square), and their gradients on the active backend: every backend's training kernels are
 * checked against the cpu backend's on these.
 */
import * as tf from '@tensorflow/tfjs-core';
import { values } from './numeric';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

export interface Case {
  name: string;
  x: Shape4;
  w: Shape4;
  strides: number | [number, number];
  pad: Pad;
}

export const CASES: Case[] = [
  { name: "3x3 stride 2 'same', even 8x8", x: [2, 8, 8, 3], w: [3, 3, 3, 4], strides: 2, pad: 'same' },
  { name: "3x3 stride 2 'same', odd 7x7 (extra pad bottom/right)", x: [1, 7, 7, 2], w: [3, 3, 2, 3], strides: 2, pad: 'same' },
  { name: "3x3 stride 1 'same'", x: [3, 6, 6, 3], w: [3, 3, 3, 3], strides: 1, pad: 'same' },
  { name: "3x3 stride 1 'valid', non-square", x: [2, 6, 5, 3], w: [3, 3, 3, 2], strides: 1, pad: 'valid' },
  { name: "3x3 stride 2 'valid', last row/col unused", x: [1, 8, 10, 2], w: [3, 3, 2, 2], strides: 2, pad: 'valid' },
  { name: 'explicit padding, stride 2', x: [2, 7, 6, 2], w: [3, 3, 2, 3], strides: 2, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { name: 'numeric padding 1, stride 1', x: [2, 5, 6, 2], w: [3, 3, 2, 4], strides: 1, pad: 1 },
  { name: 'numeric padding 2, stride 2 (pad > filter - 1 on some rows)', x: [1, 6, 5, 2], w: [3, 3, 2, 2], strides: 2, pad: 2 },
  { name: "1x1 projection stride 2 'same'", x: [2, 8, 8, 4], w: [1, 1, 4, 6], strides: 2, pad: 'same' },
  { name: "1x1 projection stride 2 'valid', odd 7x7", x: [2, 7, 7, 3], w: [1, 1, 3, 5], strides: 2, pad: 'valid' },
  { name: "non-square input, stride 2 'same', cin != cout", x: [2, 5, 9, 3], w: [3, 3, 3, 5], strides: 2, pad: 'same' },
  { name: "strides [1, 2], 'same'", x: [2, 6, 7, 2], w: [3, 3, 2, 3], strides: [1, 2], pad: 'same' },
  { name: "non-square 1x3 filter, stride 2 'same'", x: [1, 5, 8, 2], w: [1, 3, 2, 3], strides: 2, pad: 'same' },
  { name: "one output channel (a decoder's image), 3x3 'same', 12 channels", x: [2, 7, 7, 12], w: [3, 3, 12, 1], strides: 1, pad: 'same' },
  { name: "12 output channels (3-row x 12-column tiles), 3x3 'same', 5 channels", x: [2, 7, 7, 5], w: [3, 3, 5, 12], strides: 1, pad: 'same' },
  { name: "one output channel, stride 2 'same', 5 channels (a vector and a tail)", x: [1, 9, 8, 5], w: [3, 3, 5, 1], strides: 2, pad: 'same' },
];


const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

export interface Grads {
  dx: Float32Array;
  dw: Float32Array;
}

/** d/dx and d/dw of sum(conv2d(x, w) * r) on the active backend, with r a fixed random tensor (read asynchronously, as a GPU backend needs). */
export async function convGrads(c: Case): Promise<Grads> {
  const [dx, dw] = tf.tidy(() => {
    const x = tf.tensor4d(values(size(c.x), 1), c.x);
    const w = tf.tensor4d(values(size(c.w), 2), c.w);
    const outShape = tf.conv2d(x, w, c.strides, c.pad).shape;
    const r = tf.tensor(values(size(outShape), 3), outShape);
    return tf.grads((a, b) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), r)))([x, w]);
  });
  const grads = { dx: (await dx!.data()) as Float32Array, dw: (await dw!.data()) as Float32Array };
  tf.dispose([dx!, dw!]);
  return grads;
}

