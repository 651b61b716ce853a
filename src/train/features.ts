import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mirrorTransform } from '../align/jitter.js';
import { warpChip } from '../align/chip.js';
import { DLIB_FEATURE_SIZE, DLIB_STAGE_SIZE } from '../models/dlibResnet128.js';
import { loadImage } from '../image/decode.js';
import { alignFace, type FaceKit } from '../pipeline/kit.js';
import type { Detection, Image } from '../types.js';
import type { FeatureNetwork } from './network.js';

/**
 * Detect + align + frozen network, once per photo: the trainer and the evaluation read the pooled
 * features from a disk cache keyed by the photo's content hash and the settings that made them,
 * so a second run (another mining strategy, another trained part) costs no inference.
 */

/** Picks the face a training photo shows among its detections (the largest, unless told otherwise). */
export type FaceChooser = (detections: readonly Detection[], image: Image) => Detection | undefined;

export const largestFace: FaceChooser = (detections) =>
  [...detections].sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)[0];

/** Bump when what a cached entry holds changes. */
const CACHE_FORMAT = 1;

/**
 * What one cached entry holds: per view (the chip, then its mirror image with `flip`) the pooled
 * features, followed by the activations entering the last residual block with `stage`.
 */
export interface RecordLayout {
  readonly stage: boolean;
  readonly flip: boolean;
}

export const FEATURES_ONLY: RecordLayout = { stage: false, flip: false };

/** Floats of one view in a record. */
const viewSize = (layout: RecordLayout) => DLIB_FEATURE_SIZE + (layout.stage ? DLIB_STAGE_SIZE : 0);

/** Floats of one record. */
export const recordSize = (layout: RecordLayout) => viewSize(layout) * (layout.flip ? 2 : 1);

/** One view of a record: its features, and its stage input when the layout holds it. */
export interface RecordView {
  readonly features: Float32Array;
  readonly stage?: Float32Array;
}

/** The views of a record ([plain] or [plain, mirrored]), sharing its memory. */
export function recordViews(record: Float32Array, layout: RecordLayout): RecordView[] {
  const size = viewSize(layout);
  if (record.length !== recordSize(layout))
    throw new Error(`a feature record of ${record.length} floats does not match its layout (${recordSize(layout)})`);
  return Array.from({ length: layout.flip ? 2 : 1 }, (_, v) => ({
    features: record.subarray(v * size, v * size + DLIB_FEATURE_SIZE),
    stage: layout.stage ? record.subarray(v * size + DLIB_FEATURE_SIZE, (v + 1) * size) : undefined,
  }));
}

/** A folder of feature records: `<key>.f32` (recordSize floats) or `<key>.none` (no face found). */
export class FeatureCache {
  constructor(
    readonly dir: string,
    /** The settings the features depend on (detector, chooser): part of every key. */
    private readonly settings: string,
    readonly layout: RecordLayout = FEATURES_ONLY,
  ) {}

  key(bytes: Uint8Array): string {
    // The features-only layout keeps the keys it always had, so existing caches stay valid.
    const { stage, flip } = this.layout;
    const layout = stage || flip ? `\0stage=${stage}\0flip=${flip}` : '';
    return createHash('sha256').update(`${CACHE_FORMAT}\0${this.settings}${layout}\0`).update(bytes).digest('hex');
  }

  /** The cached features, null for a photo with no face, undefined when not cached. */
  async get(key: string): Promise<Float32Array | null | undefined> {
    try {
      const b = await readFile(join(this.dir, `${key}.f32`));
      if (b.byteLength === recordSize(this.layout) * 4)
        return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    } catch {}
    try {
      await readFile(join(this.dir, `${key}.none`));
      return null;
    } catch {
      return undefined;
    }
  }

  async put(key: string, features: Float32Array | null): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `${key}.${features ? 'f32' : 'none'}`);
    // Written aside and renamed: a run killed mid-write leaves no half file to be read as features.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, features ? new Uint8Array(features.buffer, features.byteOffset, features.byteLength) : '');
    await rename(tmp, file);
  }
}

export interface ExtractOptions {
  /** Finds and landmarks the faces (any kit: chips are always cut on 68 points, dlib's template). */
  readonly kit: Pick<FaceKit, 'detect' | 'landmarks'>;
  readonly network: FeatureNetwork;
  readonly cache?: FeatureCache;
  /** What each record holds (default: features only); `stage` needs a network opened with `stage`. */
  readonly layout?: RecordLayout;
  readonly choose?: FaceChooser;
  /** Called after each photo with how many are done. */
  readonly onPhoto?: (done: number, total: number, file: string, found: boolean) => void;
}

/** The record (see RecordLayout) of one decoded photo's chosen face, or null when no face is found. */
export async function imageFeatures(image: Image, options: ExtractOptions): Promise<Float32Array | null> {
  const layout = options.layout ?? options.cache?.layout ?? FEATURES_ONLY;
  if (options.cache && recordSize(options.cache.layout) !== recordSize(layout))
    throw new Error('the feature cache was opened for another record layout');
  if (layout.stage && !options.network.stage)
    throw new Error('a record with the stage input needs a FeatureNetwork opened with { stage: true }');
  const face = (options.choose ?? largestFace)(await options.kit.detect(image), image);
  if (!face) return null;
  const [withPoints] = await options.kit.landmarks(image, [face]);
  const chip = alignFace(image, withPoints.landmarks);
  const chips = [chip.data];
  // The mirrored face is cut from the photo (not by flipping the chip's pixels), as encode({ flip }) does.
  if (layout.flip) chips.push(warpChip(image, mirrorTransform(chip.chipToImage, chip.size), chip.size));
  const record = new Float32Array(recordSize(layout));
  let at = 0;
  for (const view of await options.network.activations(chips)) {
    record.set(view.features, at);
    at += view.features.length;
    if (layout.stage && view.stage) {
      record.set(view.stage, at);
      at += view.stage.length;
    }
  }
  return record;
}

/** Records of each file (null: no face), read from the cache where present and stored there otherwise. */
export async function fileFeatures(
  files: readonly string[],
  options: ExtractOptions,
): Promise<(Float32Array | null)[]> {
  const out: (Float32Array | null)[] = [];
  for (const file of files) {
    const bytes = await readFile(file);
    const key = options.cache?.key(bytes);
    let features = key ? await options.cache?.get(key) : undefined;
    if (features === undefined) {
      features = await imageFeatures(await loadImage(bytes), options).catch((cause: unknown) => {
        // A photo that cannot be read is reported like one without a face: training goes on.
        process.emitWarning(`facekit train: ${file}: ${(cause as Error).message}`);
        return null;
      });
      if (key) await options.cache?.put(key, features);
    }
    out.push(features);
    options.onPhoto?.(out.length, files.length, file, features !== null);
  }
  return out;
}
