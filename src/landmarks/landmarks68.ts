import { FaceKitError, invalidArgument } from '../errors.js';
import { checkImage, resizeRegion } from '../image/ops.js';
import { LANDMARK68_INPUT_SIZE, LANDMARK68_OUTPUTS } from '../models/faceLandmark68.js';
import type { ModelId } from '../models/registry.js';
import { ModelSession, type RuntimeOptions } from '../runtime/model-session.js';
import type { Box, Image, Point } from '../types.js';
import { LANDMARK_COUNT_68 } from './parts.js';

export type Landmark68Variant = 'full' | 'tiny';

export type Landmarker68Options = { readonly variant: Landmark68Variant } & RuntimeOptions;

const MODEL_OF: Readonly<Record<Landmark68Variant, ModelId>> = {
  full: 'face_landmark_68',
  tiny: 'face_landmark_68_tiny',
};

/**
 * Most faces per inference. Measured on 1 CPU thread, time per face is flat up to 8 and then
 * rises (cache misses), while onnxruntime's arena keeps ~2 MB per face of the largest batch for
 * the life of the session; so a crowd photo is run in slices of this size.
 */
export const LANDMARK68_MAX_BATCH = 8;

/** Whole-pixel crop of a box, as face-api cuts it (clipped to the image, then floored). */
interface Crop {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * face-api's Box.clipAtImageBorders: clip the left/top edge, keep the right/bottom edge, clip
 * that to the image, then floor x, y, width and height each on its own.
 */
function cropOf(box: Box, imageWidth: number, imageHeight: number): Crop {
  const x = Math.max(box.x, 0);
  const y = Math.max(box.y, 0);
  const width = Math.min(box.x + box.width - x, imageWidth - x);
  const height = Math.min(box.y + box.height - y, imageHeight - y);
  return { x: Math.floor(x), y: Math.floor(y), width: Math.floor(width), height: Math.floor(height) };
}

/** Whether `box` holds at least one whole pixel of `image`: what the landmark crop needs. */
export function coversWholePixel(box: Box, image: Image): boolean {
  const crop = cropOf(box, image.width, image.height);
  return crop.width > 0 && crop.height > 0;
}

/**
 * INVALID_ARGUMENT naming `field` unless `box` is one the landmark network can read: finite, of
 * positive size, covering a whole pixel of `image`. Returns its crop.
 */
export function checkFaceBox(box: Box, field: string, image: Image): Crop {
  if (box === null || typeof box !== 'object')
    throw invalidArgument(field, `expected a box { x, y, width, height }, got ${JSON.stringify(box)}`);
  const { x, y, width, height } = box;
  if (![x, y, width, height].every(Number.isFinite) || width <= 0 || height <= 0) {
    throw invalidArgument(field, `expected finite x, y and positive width, height, got ${x}, ${y}, ${width}×${height}`);
  }
  const crop = cropOf(box, image.width, image.height);
  if (crop.width <= 0 || crop.height <= 0) {
    throw invalidArgument(
      field,
      `box ${x}, ${y}, ${width}×${height} does not cover a whole pixel of the ${image.width}×${image.height} image`,
    );
  }
  return crop;
}

function copyCrop(image: Image, c: Crop): Image {
  const data = new Uint8Array(c.width * c.height * 3);
  const rowBytes = c.width * 3;
  for (let row = 0; row < c.height; row++) {
    const start = ((c.y + row) * image.width + c.x) * 3;
    data.set(image.data.subarray(start, start + rowBytes), row * rowBytes);
  }
  return { width: c.width, height: c.height, data };
}

/**
 * Fills one 112×112 slot of the batch the way face-api's NetInput.toBatchTensor(112, true) does:
 * the crop is zero-padded to a square (the odd pixel of padding goes after it), then resized.
 * The padding is zeros, not the image around the box, so the crop is cut out first.
 */
function fillSlot(image: Image, crop: Crop, batch: Float32Array<ArrayBuffer>, slot: number): void {
  const side = Math.max(crop.width, crop.height);
  const diff = side - Math.min(crop.width, crop.height);
  const before = diff - Math.round(diff / 2);
  const square =
    crop.width < crop.height
      ? { x: -before, y: 0, width: side, height: side }
      : { x: 0, y: -before, width: side, height: side };
  const size = LANDMARK68_INPUT_SIZE;
  resizeRegion(copyCrop(image, crop), square, size, size, batch, slot * size * size * 3);
}

/**
 * Maps one face's network output back to image pixels as face-api does (FaceLandmark68NetBase
 * .postProcess, then FaceLandmarks.shiftBy the detection box), with one fix.
 *
 * Kept for parity with face-api, each worth under one pixel: the padding is taken as exactly
 * diff/2 although the crop was padded by whole pixels, and the shift is the box's unfloored
 * corner although the crop began at the floored one.
 *
 * Fixed: face-api shifts by the box corner even where the box sticks out left of or above the
 * image, while its crop starts at the image edge, so its points land off by the overhang (tens
 * of pixels for a face at the edge). Shifting by the corner clipped to the image is what face-api
 * gives for the same box clipped first, and equals face-api wherever the corner is inside.
 */
function toImagePoints(out: Float32Array, offset: number, box: Box, crop: Crop): Point[] {
  const side = Math.max(crop.width, crop.height);
  const diff = side - Math.min(crop.width, crop.height);
  const left = Math.max(box.x, 0) - (crop.width < crop.height ? diff / 2 : 0);
  const top = Math.max(box.y, 0) - (crop.height < crop.width ? diff / 2 : 0);
  const points: Point[] = new Array(LANDMARK_COUNT_68);
  for (let i = 0; i < LANDMARK_COUNT_68; i++) {
    points[i] = { x: out[offset + 2 * i] * side + left, y: out[offset + 2 * i + 1] * side + top };
  }
  return points;
}

/** The 68-point landmark network (face-api's full or tiny variant) on onnxruntime. */
export class Landmarker68 {
  private disposed = false;

  private constructor(
    readonly variant: Landmark68Variant,
    private readonly session: ModelSession,
  ) {}

  static async create(options: Landmarker68Options): Promise<Landmarker68> {
    if (!Object.hasOwn(MODEL_OF, options.variant)) {
      throw invalidArgument('variant', `expected 'full' or 'tiny', got ${String(options.variant)}`);
    }
    return new Landmarker68(options.variant, await ModelSession.open(MODEL_OF[options.variant], options));
  }

  /**
   * 68 points (iBUG 300-W order) in image pixels for each box, in the order of `boxes`, from one
   * batched inference per LANDMARK68_MAX_BATCH boxes. Boxes may extend past the image; a box
   * that covers no pixel is an error.
   */
  async detect(image: Image, boxes: readonly Box[]): Promise<Point[][]> {
    if (this.disposed) throw new FaceKitError('DISPOSED', `landmarker (${this.variant}) was disposed`);
    checkImage(image);
    if (boxes.length === 0) return [];
    const crops = boxes.map((box, i) => checkFaceBox(box, `boxes[${i}]`, image));

    const size = LANDMARK68_INPUT_SIZE;
    const points: Point[][] = [];
    for (let start = 0; start < boxes.length; start += LANDMARK68_MAX_BATCH) {
      const count = Math.min(LANDMARK68_MAX_BATCH, boxes.length - start);
      const batch = new Float32Array(count * size * size * 3);
      for (let i = 0; i < count; i++) fillSlot(image, crops[start + i], batch, i);
      const outputs = await this.session.run({ input: this.session.floatTensor(batch, [count, size, size, 3]) });
      const out = outputs.landmarks.data as Float32Array;
      for (let i = 0; i < count; i++)
        points.push(toImagePoints(out, i * LANDMARK68_OUTPUTS, boxes[start + i], crops[start + i]));
    }
    return points;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.dispose();
  }
}
