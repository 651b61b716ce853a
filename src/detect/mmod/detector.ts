/**
 * dlib's MMOD CNN face detector as face_recognition runs it (face_locations(model="cnn"), dlib's
 * Python binding cnn_face_detection_model_v1): upsample the image `upsample` times with
 * pyramid_up, tile its pyramid, run the network (ONNX on onnxruntime), decode and NMS the windows,
 * and map each box back to the image with rect_down.
 */
import { invalidArgument } from '../../errors.js';
import { checkImage } from '../../image/ops.js';
import { MMOD_INPUT, MMOD_MIN_INPUT, MMOD_OUTPUT } from '../../models/mmodFaceDetector.js';
import type { Tensor } from 'onnxruntime-node';
import { ModelSession, onnxruntime, type RuntimeOptions } from '../../runtime/session.js';
import type { Box, Detection, Image } from '../../types.js';
import { type DlibRect, rectDown2 } from '../dlib-geometry.js';
import { pyramidUp2 } from '../hog/pyramid.js';
import type { DetectOptions, FaceDetector } from '../detector.js';
import { checkMaxFaces, facesInImage } from '../nms.js';
import { type MmodDetection, mmodNms, scoreMapWindows } from './decode.js';
import { loadMmodOptions, type MmodOptions } from './options.js';
import { TensorBuffer, tiledPyramid } from './pyramid.js';

/** face_recognition's number_of_times_to_upsample default. */
export const MMOD_DEFAULT_UPSAMPLE = 1;
/**
 * Each upsampling quadruples the pixels the CNN scans (and its float input: ~8 GB at 3 upsamplings
 * of a 12-MP photo), so the count is bounded; dlib itself has no bound.
 */
export const MMOD_MAX_UPSAMPLE = 3;
/** dlib's default adjust_threshold: a window is a face when its score is above 0. */
export const MMOD_DEFAULT_MIN_CONFIDENCE = 0;

/**
 * dlib's MMOD boxes are tight squares from the brows to the lips' bottom; face-api's 68-point net
 * reads them badly (10.4 % mean error over the inter-ocular distance on the 41 faces of dlib's
 * detection photos that carry 68 points, against 7.4 % from SSD's boxes). Its crop is the box
 * grown MMOD_LANDMARK_SCALE times about a centre moved down MMOD_LANDMARK_SHIFT of the box's
 * height: 5.9 %. Scales 1.1-1.25 with shifts 0.1-0.15 all measured 5.9-6.4 %, so the choice is not fragile.
 */
export const MMOD_LANDMARK_SCALE = 1.2;
export const MMOD_LANDMARK_SHIFT = 0.12;

/** The landmark crop for an MMOD box (see MMOD_LANDMARK_SCALE). */
export function mmodLandmarkBox(box: Box): Box {
  const width = box.width * MMOD_LANDMARK_SCALE;
  const height = box.height * MMOD_LANDMARK_SCALE;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height * (0.5 + MMOD_LANDMARK_SHIFT);
  return { x: cx - width / 2, y: cy - height / 2, width, height };
}

/**
 * MMOD's threshold is on dlib's raw score, which passes 1 for clear faces, so it is any finite
 * number from 0 (dlib's own default) up, not the [0, 1) of the detectors whose scores are probabilities.
 */
export function checkMmodThreshold(value: number, field = 'minConfidence'): number {
  if (!(Number.isFinite(value) && value >= 0))
    throw invalidArgument(field, `must be a finite number >= 0, got ${value}`);
  return value;
}

/** INVALID_ARGUMENT unless `value` is an upsampling count this detector runs. */
export function checkUpsample(value: number, field = 'upsample'): number {
  if (!(Number.isInteger(value) && value >= 0 && value <= MMOD_MAX_UPSAMPLE))
    throw invalidArgument(field, `must be an integer from 0 to ${MMOD_MAX_UPSAMPLE}, got ${value}`);
  return value;
}

/**
 * A dlib rectangle as a facekit box the way face_recognition reports it: its css tuple is (top,
 * right, bottom, left) with dlib's edges as they are, so box.x + box.width is dlib's `right`, and
 * `facekit detect --model cnn` prints the numbers face_detection --model cnn prints.
 */
export function dlibRectToBox(r: DlibRect): Box {
  return { x: r.left, y: r.top, width: r.right - r.left, height: r.bottom - r.top };
}

export class MmodDetector implements FaceDetector {
  readonly name = 'mmod' as const;

  /** The input tensor's memory, kept for the next photo (see TensorBuffer); taken while a call runs. */
  private spare: TensorBuffer | undefined;

  private constructor(
    private readonly session: ModelSession,
    readonly options: MmodOptions,
  ) {}

  static async create(runtime: RuntimeOptions = {}): Promise<MmodDetector> {
    const [options, session] = await Promise.all([loadMmodOptions(), ModelSession.open('mmod_face_detector', runtime)]);
    return new MmodDetector(session, options);
  }

  /** The network's score map for `image` as it is (no upsampling): exposed for tests and benchmarks. */
  async scoreMap(image: Image): Promise<{
    scores: Float32Array;
    rows: number;
    cols: number;
    layout: ReturnType<typeof tiledPyramid>['layout'];
  }> {
    const buffer = this.spare ?? new TensorBuffer();
    this.spare = undefined;
    const { layout, data } = tiledPyramid(image, this.options, buffer);
    // Too small for one window: no score at all (onnxruntime would refuse the empty conv output).
    if (layout.rows < MMOD_MIN_INPUT || layout.cols < MMOD_MIN_INPUT) {
      this.spare = buffer;
      return { scores: new Float32Array(0), rows: 0, cols: 0, layout };
    }
    const out = await this.session
      .run({ [MMOD_INPUT]: new (onnxruntime().Tensor)('float32', data, [1, 3, layout.rows, layout.cols]) })
      .finally(() => {
        this.spare = buffer;
      });
    const t = out[MMOD_OUTPUT] as Tensor;
    return { scores: t.data as Float32Array, rows: t.dims[2] as number, cols: t.dims[3] as number, layout };
  }

  /** dlib's detections (rectangles in `image`'s pixels, before clipping), best first. */
  async detectRects(image: Image, upsample: number, threshold = MMOD_DEFAULT_MIN_CONFIDENCE): Promise<MmodDetection[]> {
    let scanned = image;
    for (let i = 0; i < upsample; i++) scanned = pyramidUp2(scanned);
    const { scores, rows, cols, layout } = await this.scoreMap(scanned);
    const kept = mmodNms(scoreMapWindows(scores, rows, cols, layout, this.options, threshold), this.options);
    return upsample === 0 ? kept : kept.map((d) => ({ ...d, rect: rectDown2(d.rect, upsample) }));
  }

  /**
   * Defaults as face_recognition: upsample 1, every window scoring above 0. Scores are dlib's raw
   * detection_confidence (not a probability; faces typically score 0.3 to 1.2), so `minConfidence`
   * is dlib's threshold on it.
   */
  async detect(image: Image, options: DetectOptions = {}): Promise<Detection[]> {
    checkImage(image);
    const upsample = checkUpsample(options.upsample ?? MMOD_DEFAULT_UPSAMPLE);
    const threshold = checkMmodThreshold(options.minConfidence ?? MMOD_DEFAULT_MIN_CONFIDENCE);
    const maxFaces = checkMaxFaces(options.maxFaces ?? Infinity);
    const found = await this.detectRects(image, upsample, threshold);
    const faces = facesInImage(
      found.map((d) => ({ box: dlibRectToBox(d.rect), score: d.score })),
      image.width,
      image.height,
      maxFaces,
    );
    // From the clipped box, as face_recognition's landmarks start from its trimmed css box.
    return faces.map((d) => ({ ...d, landmarkBox: mmodLandmarkBox(d.box) }));
  }

  async dispose(): Promise<void> {
    this.spare = undefined;
    await this.session.dispose();
  }
}
