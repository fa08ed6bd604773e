/**
 * Bilinear grid sampling (PyTorch's grid_sample, which TF.js lacks) written with gathers, so a
 * generator can move an identity photo's pixels (or features) along a predicted backward flow
 * and learn both the flow and what it warps.
 *
 * Conventions:
 * - The flow [N, H, W, 2] holds, for every output pixel, WHERE to sample the input, as (x, y)
 *   in PIXELS of the input, pixel centres at integers (align_corners = true): the identity flow
 *   is the integer grid (`identityGrid`), so it returns the input exactly (weights exactly 0/1).
 *   `pixelsFromNormalised` converts [-1, 1] positions (-1 = first pixel centre, 1 = last).
 * - Border: positions are clamped to [0, W-1] x [0, H-1] (PyTorch's padding_mode 'border'):
 *   outside samples repeat the edge pixel, and their gradient w.r.t. the flow is zero.
 * - The output has the flow's H, W (which may differ from the input's) and the input's channels.
 *
 * Differentiable w.r.t. the input (through a gather whose gradient is a scatter-add, tf.scatterND,
 * since the wasm backend has no UnsortedSegmentSum kernel for tf.gather's own gradient) and
 * w.r.t. the flow (through the bilinear weights).
 */
import '@tensorflow/tfjs-layers'; // registers the gradients of every op (tfjs-core alone lacks some)
import * as tf from '@tensorflow/tfjs-core';

/** The identity sampling grid [1, h, w, 2] in pixels: (x, y) = (column, row). */
export function identityGrid(h: number, w: number): tf.Tensor4D {
  return tf.tidy(() => {
    const xs = tf.tile(tf.reshape(tf.range(0, w, 1, 'float32'), [1, w, 1]), [h, 1, 1]);
    const ys = tf.tile(tf.reshape(tf.range(0, h, 1, 'float32'), [h, 1, 1]), [1, w, 1]);
    return tf.reshape(tf.concat([xs, ys], 2), [1, h, w, 2]);
  });
}

/** [-1, 1] positions (x, y) to pixel positions of an input of size h x w (align_corners = true). */
export function pixelsFromNormalised(flow: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  const scale = tf.tensor1d([(w - 1) / 2, (h - 1) / 2]);
  return tf.mul(tf.add(flow, 1), scale);
}

/** Rows `indices` of `table` [R, C]; the gradient w.r.t. the table is a scatter-add (works on wasm too). */
function gatherRows(table: tf.Tensor2D, indices: tf.Tensor1D): tf.Tensor2D {
  const rows = table.shape[0];
  const channels = table.shape[1];
  // The indices are saved with the op (the tape keeps them past the caller's tidy for the backward pass).
  const gather = tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([indices]);
    return {
      value: tf.gather(t, indices),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.scatterND(tf.reshape(saved[0]!, [-1, 1]), dy, [rows, channels]),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return gather(table) as tf.Tensor2D;
}

/**
 * Samples `image` [N, Hi, Wi, C] at `flow` [N, Ho, Wo, 2] (pixels, see above), bilinearly.
 * Returns [N, Ho, Wo, C].
 */
export function warp(image: tf.Tensor4D, flow: tf.Tensor4D): tf.Tensor4D {
  const [n, hi, wi, c] = image.shape;
  const [nf, ho, wo, two] = flow.shape;
  if (two !== 2) throw new Error(`warp: the flow must end in 2 (x, y) values, got [${flow.shape}]`);
  if (nf !== n) throw new Error(`warp: the flow holds ${nf} sampling grids for ${n} images; give one per image`);
  return tf.tidy(() => {
    const [fx, fy] = tf.split(flow, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
    const x = tf.clipByValue(fx, 0, wi - 1);
    const y = tf.clipByValue(fy, 0, hi - 1);
    const x0f = tf.floor(x);
    const y0f = tf.floor(y);
    const wx = tf.sub(x, x0f); // weight of the right neighbour, [N, Ho, Wo, 1]
    const wy = tf.sub(y, y0f);
    // Indices computed in float (exact for integers below 2^24, i.e. any image batch we make), then cast.
    const x1f = tf.minimum(tf.add(x0f, 1), wi - 1);
    const y1f = tf.minimum(tf.add(y0f, 1), hi - 1);
    const base = tf.reshape(tf.mul(tf.range(0, n, 1, 'float32'), hi * wi), [n, 1, 1, 1]);
    const table = tf.reshape(image, [n * hi * wi, c]) as tf.Tensor2D;
    const [x0, y0, x1, y1] = [x0f, y0f, x1f, y1f];
    const at = (yy: tf.Tensor, xx: tf.Tensor) => {
      const index = tf.cast(tf.reshape(tf.add(base, tf.add(tf.mul(yy, wi), xx)), [-1]), 'int32') as tf.Tensor1D;
      return tf.reshape(gatherRows(table, index), [n, ho, wo, c]);
    };
    const top = tf.add(tf.mul(at(y0, x0), tf.sub(1, wx)), tf.mul(at(y0, x1), wx));
    const bottom = tf.add(tf.mul(at(y1, x0), tf.sub(1, wx)), tf.mul(at(y1, x1), wx));
    return tf.add(tf.mul(top, tf.sub(1, wy)), tf.mul(bottom, wy)) as tf.Tensor4D;
  });
}
