/**
 * Detector 'hog': dlib's frontal HOG face detector (face_recognition's default `model="hog"`),
 * pure TypeScript on the weights dlib ships, so it needs no onnxruntime session and runs in a
 * browser too.
 */
import { invalidArgument } from '../../errors.js';
import { checkImage } from '../../image/ops.js';
import type { Box, Detection, Image } from '../../types.js';
import type { DetectOptions, FaceDetector } from '../detector.js';
import { checkMaxFaces, checkMinConfidence, facesInImage } from '../nms.js';
import { detectFacesHog } from './detect.js';

/** face_recognition's number_of_times_to_upsample default: dlib finds faces down to ~40 px with it. */
export const HOG_DEFAULT_UPSAMPLE = 1;
/**
 * Each upsample doubles both sides (4× the pixels, ~4× the time): 3 turns a 640-px photo into a
 * 5 k-px one already, so more is refused rather than left to run out of memory.
 */
export const HOG_MAX_UPSAMPLE = 3;
/**
 * Most pixels the detector scans after upsampling, as decode's default limit for a photo: beyond it
 * the pyramid and its FHOG planes need gigabytes (a 1920×1280 photo at upsample 3 is 157 M pixels).
 */
export const HOG_MAX_SCANNED_PIXELS = 100_000_000;

/** dlib's adjust_threshold as face_recognition passes it. */
export const HOG_DEFAULT_ADJUST_THRESHOLD = 0;

/**
 * dlib's boxes run from the brows to the upper lip; face-api's landmark network was trained on
 * looser crops (tiny's boxes are ~1.35× as wide and ~1.2× as tall, centred lower). Its 68 points
 * from a HOG box grown 1.3× about a centre moved down 0.1 of the box height differ from the tiny
 * pipeline's by 0.039 of the eye distance on average (18 faces of the six sample photos at 640 px,
 * upsample 1) against 0.081 from the raw box; SSD's own boxes give 0.065 on the same faces.
 */
export const HOG_LANDMARK_BOX_SCALE = 1.3;
export const HOG_LANDMARK_BOX_SHIFT = 0.1;

/** The region the 68-point network reads for a HOG box. */
export function hogLandmarkBox(box: Box): Box {
  const width = box.width * HOG_LANDMARK_BOX_SCALE;
  const height = box.height * HOG_LANDMARK_BOX_SCALE;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2 + box.height * HOG_LANDMARK_BOX_SHIFT;
  return { x: cx - width / 2, y: cy - height / 2, width, height };
}

export function checkUpsample(value: unknown, field = 'upsample'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > HOG_MAX_UPSAMPLE) {
    throw invalidArgument(field, `must be an integer from 0 to ${HOG_MAX_UPSAMPLE}, got ${String(value)}`);
  }
  return value;
}

export function checkAdjustThreshold(value: unknown, field = 'adjustThreshold'): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidArgument(field, `must be a finite number, got ${String(value)}`);
  }
  return value;
}

export class HogDetector implements FaceDetector {
  readonly name = 'hog' as const;

  /** Async like the other detectors' create(), though there is no session to open. */
  static async create(): Promise<HogDetector> {
    return new HogDetector();
  }

  /**
   * dlib's boxes and order. `score` is dlib's detection_confidence (the filter response above the
   * filter's threshold: 0 and up at the default adjustThreshold, about 0–3.5), not a probability;
   * `minConfidence`, when given, drops faces scoring below it on that scale. A box's right and
   * bottom edges are dlib's (inclusive) right() and bottom(), as face_recognition reports them.
   */
  async detect(image: Image, options: DetectOptions = {}): Promise<Detection[]> {
    checkImage(image);
    const upsample = options.upsample === undefined ? HOG_DEFAULT_UPSAMPLE : checkUpsample(options.upsample);
    const adjustThreshold =
      options.adjustThreshold === undefined
        ? HOG_DEFAULT_ADJUST_THRESHOLD
        : checkAdjustThreshold(options.adjustThreshold);
    const minConfidence = options.minConfidence === undefined ? -Infinity : checkMinConfidence(options.minConfidence);
    const maxFaces = options.maxFaces === undefined ? Infinity : checkMaxFaces(options.maxFaces);
    const scanned = image.width * image.height * 4 ** upsample;
    if (scanned > HOG_MAX_SCANNED_PIXELS) {
      throw invalidArgument(
        'upsample',
        `${upsample} would scan ${image.width}×${image.height} at ${2 ** upsample}× per side (${Math.round(scanned / 1e6)} M pixels, above ${HOG_MAX_SCANNED_PIXELS / 1e6} M): use a smaller upsample or image`,
      );
    }
    const found: Detection[] = detectFacesHog(image, { upsample, adjustThreshold })
      .filter((d) => d.score >= minConfidence)
      .map((d) => ({
        box: {
          x: d.rect.left,
          y: d.rect.top,
          width: d.rect.right - d.rect.left,
          height: d.rect.bottom - d.rect.top,
        },
        score: d.score,
      }));
    return facesInImage(found, image.width, image.height, maxFaces).map((d) => ({
      ...d,
      landmarkBox: hogLandmarkBox(d.box),
    }));
  }

  async dispose(): Promise<void> {}
}
