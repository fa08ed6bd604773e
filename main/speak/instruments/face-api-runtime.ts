/**
 * face-api (@vladmandic/face-api) on the studio's own tfjs-core, in the calling thread.
 *
 * Its Node builds want tfjs-node (not installable here) or the umbrella @tensorflow/tfjs (not a
 * dependency); its browser builds bundle a second tfjs whose backends would overwrite the
 * kernels our engine registers in the process-wide registry. Its node-wasm build is plain
 * CommonJS that asks for '@tensorflow/tfjs' and '@tensorflow/tfjs-backend-wasm', so we hand it
 * our tfjs-core for the first (the tensor methods tfjs adds come from ./chained-ops) and it
 * shares our engine, backend and kernels: the nets run on whatever backend the caller runs (wasm
 * by default) and can take part in gradients.
 */
import Module from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initWasmBackend } from '../../engine/backend/wasm-setup';
import { registerChainedOps } from './chained-ops';
import { locateModels, type ModelFolder } from './model-files';

export interface FaceApiBox {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface FaceApiPoint {
  x: number;
  y: number;
}
export interface FaceApiDetection {
  box: FaceApiBox;
  score: number;
}
export interface FaceApiResult {
  detection: FaceApiDetection;
  landmarks: { positions: FaceApiPoint[] };
  alignedRect: FaceApiDetection;
  descriptor?: Float32Array;
  expressions?: Record<string, number>;
}

/** face-api's composable tasks, as far as we use them. */
export interface LandmarksTask extends PromiseLike<FaceApiResult[]> {
  withFaceExpressions(): LandmarksTask;
  withFaceDescriptors(): LandmarksTask;
}
export interface DetectTask extends PromiseLike<FaceApiDetection[]> {
  withFaceLandmarks(): LandmarksTask;
}

interface Net {
  loadFromDisk(dir: string): Promise<void>;
  isLoaded: boolean;
}

export interface FaceApi {
  version: string;
  nets: {
    ssdMobilenetv1: Net;
    faceLandmark68Net: Net & { detectLandmarks(face: tf.Tensor3D): Promise<unknown> };
    faceRecognitionNet: Net & { computeFaceDescriptor(face: tf.Tensor3D): Promise<Float32Array> };
    faceExpressionNet: Net & { predictExpressions(face: tf.Tensor3D): Promise<unknown> };
  };
  SsdMobilenetv1Options: new (options: { minConfidence?: number; maxResults?: number }) => unknown;
  detectAllFaces(input: tf.Tensor3D, options: unknown): DetectTask;
}

export interface LoadedFaceApi {
  api: FaceApi;
  models: ModelFolder;
  /** The TF.js backend the nets run on. */
  backend: string;
}

/** Requires face-api's node-wasm build with '@tensorflow/tfjs' resolved to our tfjs-core, for that one call. */
function requireFaceApi(): FaceApi {
  const resolver = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const original = resolver._resolveFilename;
  resolver._resolveFilename = function (request: string, ...rest: unknown[]) {
    return original.call(this, request === '@tensorflow/tfjs' ? '@tensorflow/tfjs-core' : request, ...rest);
  };
  try {
    return require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
  } finally {
    resolver._resolveFilename = original;
  }
}

let loading: Promise<LoadedFaceApi> | undefined;

/**
 * face-api with its detector, 68-point landmark, recognition and expression nets loaded (once per
 * thread). Starts the wasm backend when the thread has none yet; otherwise uses the active one.
 */
export function loadFaceApi(): Promise<LoadedFaceApi> {
  loading ??= (async () => {
    if (tf.engine().backendName == null) await initWasmBackend();
    registerChainedOps();
    const api = requireFaceApi();
    const models = locateModels('faceApi');
    const dir = models.dir + path.sep;
    const { ssdMobilenetv1, faceLandmark68Net, faceRecognitionNet, faceExpressionNet } = api.nets;
    for (const net of [ssdMobilenetv1, faceLandmark68Net, faceRecognitionNet, faceExpressionNet]) await net.loadFromDisk(dir);
    return { api, models, backend: tf.getBackend() };
  })();
  loading.catch(() => {
    loading = undefined; // a failed load (missing files) may be retried after the fix
  });
  return loading;
}
