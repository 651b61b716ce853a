import { FaceKitError } from '../errors.js';
import { checkImage, resizeRegion } from '../image/ops.js';
import { modelFor } from '../models/precision.js';
import { SSD_ANCHOR_COUNT, SSD_INPUT_SIZE } from '../models/ssdMobilenetv1.js';
import { ModelSession, type RuntimeOptions } from '../runtime/model-session.js';
import type { Box, Detection, Image } from '../types.js';
import type { DetectOptions, FaceDetector } from './detector.js';
import { checkMaxFaces, checkMinConfidence, facesInImage, nms } from './nms.js';

/** face-api's SsdMobilenetv1Options default, so results match the reference out of the box. */
export const SSD_DEFAULT_MIN_CONFIDENCE = 0.5;
/** face-api's fixed NMS overlap for SSD: boxes overlapping a better one by more are dropped. */
export const SSD_IOU_THRESHOLD = 0.5;

/**
 * face-api's toBatchTensor(512, false): zero-pad to a square at bottom/right, then resize to 512².
 * Output rows that sample only the padding are exactly zero, so for a landscape photo only the rows
 * reaching into it are resampled (a third less work for 3:2). The row count is chosen so that the
 * shortened region clamps only where the full one would read zeros: the values are bit-identical.
 */
export function ssdInput(image: Image): Float32Array {
  const side = Math.max(image.width, image.height);
  const step = side / SSD_INPUT_SIZE;
  const rows = Math.min(SSD_INPUT_SIZE, Math.ceil((image.height + 1) / step));
  const out = new Float32Array(SSD_INPUT_SIZE * SSD_INPUT_SIZE * 3);
  return resizeRegion(image, { x: 0, y: 0, width: side, height: rows * step }, SSD_INPUT_SIZE, rows, out);
}

/** Candidate anchors above the threshold, as boxes in 0..1 of the padded square. */
function candidates(boxes: Float32Array, scores: Float32Array, minConfidence: number) {
  const kept: Box[] = [];
  const keptScores: number[] = [];
  for (let i = 0; i < SSD_ANCHOR_COUNT; i++) {
    // Strictly above, as face-api filters.
    if (!(scores[i] > minConfidence)) continue;
    const ymin = boxes[i * 4];
    const xmin = boxes[i * 4 + 1];
    kept.push({ x: xmin, y: ymin, width: boxes[i * 4 + 3] - xmin, height: boxes[i * 4 + 2] - ymin });
    keptScores.push(scores[i]);
  }
  return { boxes: kept, scores: keptScores };
}

/**
 * face-api's SSD MobileNet v1 face detector on onnxruntime. Slower than the tiny detector but finds
 * smaller and turned faces; the image is padded to a square at bottom/right and resized to 512×512.
 */
export class SsdDetector implements FaceDetector {
  readonly name = 'ssd' as const;
  private disposed = false;

  private constructor(private readonly session: ModelSession) {}

  /** With `precision: 'int8'`, the int8 build of the network (src/models/quantize.ts). */
  static async create(options: RuntimeOptions = {}): Promise<SsdDetector> {
    return new SsdDetector(await ModelSession.open(modelFor('ssd_mobilenetv1', options.precision), options));
  }

  async detect(image: Image, options: DetectOptions = {}): Promise<Detection[]> {
    if (this.disposed) throw new FaceKitError('DISPOSED', 'SsdDetector was disposed');
    checkImage(image);
    const minConfidence = checkMinConfidence(options.minConfidence ?? SSD_DEFAULT_MIN_CONFIDENCE);
    // No cap of face-api's (maxResults 100): the network scores every anchor, and a crowd photo may hold more faces.
    const maxFaces = checkMaxFaces(options.maxFaces ?? Infinity);

    // A fresh buffer per call: onnxruntime reads it off the JS thread, so a concurrent detect() must not overwrite it.
    const input = ssdInput(image);
    const out = await this.session.run({
      input: this.session.floatTensor(input, [1, SSD_INPUT_SIZE, SSD_INPUT_SIZE, 3]),
    });
    const found = candidates(out.boxes.data as Float32Array, out.scores.data as Float32Array, minConfidence);
    const keep = nms(found.boxes, found.scores, SSD_IOU_THRESHOLD, 'union');

    // face-api maps back through the rounded size of the image inside the square, not side/width;
    // doing the same keeps boxes equal to the reference's (the two differ by under 0.2 %).
    const scale = SSD_INPUT_SIZE / Math.max(image.width, image.height);
    const padX = SSD_INPUT_SIZE / Math.round(image.width * scale);
    const padY = SSD_INPUT_SIZE / Math.round(image.height * scale);
    const inPixels = keep.map((k): Detection => {
      const b = found.boxes[k];
      const left = Math.max(0, b.x) * padX;
      const top = Math.max(0, b.y) * padY;
      const right = Math.min(1, b.x + b.width) * padX;
      const bottom = Math.min(1, b.y + b.height) * padY;
      return {
        box: {
          x: left * image.width,
          y: top * image.height,
          width: (right - left) * image.width,
          height: (bottom - top) * image.height,
        },
        score: found.scores[k],
      };
    });
    // A box lying wholly in the padding is no face in the photo.
    return facesInImage(inPixels, image.width, image.height, maxFaces);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.dispose();
  }
}
