import { invalidArgument } from '../errors.js';
import { checkImage, resizeRegion } from '../image/ops.js';
import {
  TINY_ANCHOR_COUNT,
  TINY_BOX_ENCODING,
  TINY_INPUT,
  TINY_OUTPUT,
  TINY_STRIDE,
} from '../models/tinyFaceDetector.js';
import { ModelSession, type RuntimeOptions } from '../runtime/model-session.js';
import type { Box, Detection, Image } from '../types.js';
import type { DetectOptions, FaceDetector } from './detector.js';
import { checkMaxFaces, checkMinConfidence, facesInImage, nms } from './nms.js';

/** face-api's default inputSize: larger finds smaller faces, at a cost growing with its square. */
export const TINY_DEFAULT_INPUT_SIZE = 416;
/** face-api's default score threshold for TinyFaceDetectorOptions. */
export const TINY_DEFAULT_MIN_CONFIDENCE = 0.5;
/** face-api's IOU_THRESHOLD for this net: overlapping boxes above it are duplicates of one face. */
export const TINY_IOU_THRESHOLD = 0.4;
/** Bounds the float input tensor (~200 MB at this size) so a typo cannot exhaust memory. */
export const TINY_MAX_INPUT_SIZE = 4096;

/** Anchor (width, height) in grid cells, in the order of the net's output channels (face-api's BOX_ANCHORS). */
const ANCHORS: readonly (readonly [number, number])[] = [
  [1.603231, 2.094468],
  [6.041143, 7.080126],
  [2.882459, 3.518061],
  [4.266906, 5.178857],
  [9.041765, 10.66308],
];

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** INVALID_ARGUMENT unless `inputSize` is a network input side this detector can run. */
export function checkInputSize(inputSize: number): void {
  if (
    !Number.isInteger(inputSize) ||
    inputSize <= 0 ||
    inputSize % TINY_STRIDE !== 0 ||
    inputSize > TINY_MAX_INPUT_SIZE
  ) {
    throw invalidArgument(
      'inputSize',
      `must be a positive multiple of ${TINY_STRIDE} up to ${TINY_MAX_INPUT_SIZE}, got ${inputSize}`,
    );
  }
}

/**
 * The net's input for `image` the way face-api builds it (toBatchTensor(inputSize, false)): the
 * image is padded with black at the bottom or right to a square, then resized bilinearly to
 * inputSize × inputSize. Returns NHWC float RGB in 0..255.
 */
export function tinyInput(image: Image, inputSize: number, out?: Float32Array<ArrayBuffer>): Float32Array<ArrayBuffer> {
  checkImage(image);
  checkInputSize(inputSize);
  const side = Math.max(image.width, image.height);
  const length = inputSize * inputSize * 3;
  if (out && out.length !== length) throw invalidArgument('out', `must hold ${length} floats, got ${out.length}`);
  const buffer = out ?? new Float32Array(length);
  resizeRegion(image, { x: 0, y: 0, width: side, height: side }, inputSize, inputSize, buffer);
  return buffer;
}

/**
 * Turns the raw grid ([gridH, gridW, anchors × 5], row-major) into boxes in image pixels, before
 * NMS and unclipped, with face-api's arithmetic: its box is relative to the image's resized size,
 * which it rounds to whole pixels, so the same rounding is kept here.
 */
export function decodeTinyGrid(
  grid: Float32Array,
  gridH: number,
  gridW: number,
  image: { width: number; height: number },
  inputSize: number,
  minConfidence: number,
): { boxes: Box[]; scores: number[] } {
  const scale = inputSize / Math.max(image.width, image.height);
  const fx = inputSize / Math.round(image.width * scale);
  const fy = inputSize / Math.round(image.height * scale);
  const boxes: Box[] = [];
  const scores: number[] = [];
  for (let row = 0; row < gridH; row++) {
    for (let col = 0; col < gridW; col++) {
      for (let a = 0; a < TINY_ANCHOR_COUNT; a++) {
        const o = ((row * gridW + col) * TINY_ANCHOR_COUNT + a) * TINY_BOX_ENCODING;
        const score = sigmoid(grid[o + 4]);
        // Strictly above, as face-api filters; a threshold of 0 keeps every cell.
        if (minConfidence > 0 && !(score > minConfidence)) continue;
        const cx = ((col + sigmoid(grid[o])) / gridW) * fx;
        const cy = ((row + sigmoid(grid[o + 1])) / gridH) * fy;
        const w = ((Math.exp(grid[o + 2]) * ANCHORS[a][0]) / gridW) * fx;
        const h = ((Math.exp(grid[o + 3]) * ANCHORS[a][1]) / gridH) * fy;
        boxes.push({
          x: (cx - w / 2) * image.width,
          y: (cy - h / 2) * image.height,
          width: w * image.width,
          height: h * image.height,
        });
        scores.push(score);
      }
    }
  }
  return { boxes, scores };
}

/** face-api's TinyFaceDetector on onnxruntime: small and fast, weaker on small or profile faces than SSD. */
export class TinyDetector implements FaceDetector {
  readonly name = 'tiny' as const;

  /**
   * One reusable input buffer: a fresh 2 MB array per call (at 416) costs more in allocation and GC
   * than the resize that fills it. Taken while a call runs, so overlapping calls never share it.
   */
  private spare: Float32Array<ArrayBuffer> | undefined;

  private constructor(private readonly session: ModelSession) {}

  static async create(options: RuntimeOptions = {}): Promise<TinyDetector> {
    return new TinyDetector(await ModelSession.open('tiny_face_detector', options));
  }

  private takeSpare(length: number): Float32Array<ArrayBuffer> | undefined {
    const spare = this.spare;
    this.spare = undefined;
    return spare?.length === length ? spare : undefined;
  }

  /** Raw network output for a prepared input (see tinyInput); exposed for tests and benchmarks. */
  async runGrid(input: Float32Array, inputSize: number): Promise<{ grid: Float32Array; gridH: number; gridW: number }> {
    const out = await this.session.run({
      [TINY_INPUT]: this.session.floatTensor(input, [1, inputSize, inputSize, 3]),
    });
    const t = out[TINY_OUTPUT];
    return { grid: t.data as Float32Array, gridH: t.dims[1], gridW: t.dims[2] };
  }

  /** Defaults as face-api's TinyFaceDetectorOptions: inputSize 416, minConfidence 0.5 (strictly above). */
  async detect(image: Image, options: DetectOptions = {}): Promise<Detection[]> {
    const inputSize = options.inputSize ?? TINY_DEFAULT_INPUT_SIZE;
    const minConfidence = checkMinConfidence(options.minConfidence ?? TINY_DEFAULT_MIN_CONFIDENCE);
    const maxFaces = checkMaxFaces(options.maxFaces ?? Infinity);

    const input = tinyInput(image, inputSize, this.takeSpare(inputSize * inputSize * 3));
    const { grid, gridH, gridW } = await this.runGrid(input, inputSize).finally(() => {
      this.spare = input;
    });
    const { boxes, scores } = decodeTinyGrid(grid, gridH, gridW, image, inputSize, minConfidence);
    // NMS on the unclipped boxes, as face-api does; IoU is unchanged by its per-axis rescaling.
    const keep = nms(boxes, scores, TINY_IOU_THRESHOLD, 'union');
    return facesInImage(
      keep.map((i) => ({ box: boxes[i], score: scores[i] })),
      image.width,
      image.height,
      maxFaces,
    );
  }

  async dispose(): Promise<void> {
    this.spare = undefined;
    await this.session.dispose();
  }
}
