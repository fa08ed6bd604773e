/**
 * Images into the face instruments: a PNG or JPEG file or its bytes, decoded by the studio's
 * codec (main/data/image-codec.ts) to RGB, and the int32 [height, width, 3] tensor (0..255) that
 * face-api's nets and human's take.
 */
import * as tf from '@tensorflow/tfjs-core';
import { decodeImage, decodeImageFile, type RgbImage } from '../../data/image-codec';

export type { RgbImage } from '../../data/image-codec';

/** Decodes a file path or the bytes of a PNG/JPEG; the error names the file and what is wrong with it. */
export async function readImage(source: string | Uint8Array): Promise<RgbImage> {
  if (typeof source === 'string') return decodeImageFile(source);
  try {
    return decodeImage(source);
  } catch (error) {
    throw new Error(`The image ${(error as Error).message}. Choose a PNG or JPEG photo.`);
  }
}

/** Checks that an image's pixel buffer matches its size (an RGB image built by hand can be wrong). */
export function checkRgb(image: RgbImage): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new Error(`An image must be at least 1x1 pixels; got ${width}x${height}`);
  if (data.length !== width * height * 3) throw new Error(`A ${width}x${height} RGB image needs ${width * height * 3} bytes; got ${data.length}`);
}

/** The image as an int32 [height, width, 3] tensor; the caller disposes it. */
export function imageTensor(image: RgbImage): tf.Tensor3D {
  checkRgb(image);
  return tf.tensor3d(Int32Array.from(image.data), [image.height, image.width, 3], 'int32');
}
