import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DLIB_FEATURE_SIZE } from '../models/dlibResnet128.js';
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

/** A folder of feature files: `<key>.f32` (256 floats) or `<key>.none` (no face found). */
export class FeatureCache {
  constructor(
    readonly dir: string,
    /** The settings the features depend on (detector, chooser): part of every key. */
    private readonly settings: string,
  ) {}

  key(bytes: Uint8Array): string {
    return createHash('sha256').update(`${CACHE_FORMAT}\0${this.settings}\0`).update(bytes).digest('hex');
  }

  /** The cached features, null for a photo with no face, undefined when not cached. */
  async get(key: string): Promise<Float32Array | null | undefined> {
    try {
      const b = await readFile(join(this.dir, `${key}.f32`));
      if (b.byteLength === DLIB_FEATURE_SIZE * 4)
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
  readonly choose?: FaceChooser;
  /** Called after each photo with how many are done. */
  readonly onPhoto?: (done: number, total: number, file: string, found: boolean) => void;
}

/** Features of one decoded photo's chosen face, or null when no face is found. */
export async function imageFeatures(image: Image, options: ExtractOptions): Promise<Float32Array | null> {
  const face = (options.choose ?? largestFace)(await options.kit.detect(image), image);
  if (!face) return null;
  const [withPoints] = await options.kit.landmarks(image, [face]);
  const chip = alignFace(image, withPoints.landmarks);
  const [features] = await options.network.features([chip.data]);
  return features;
}

/** Features of each file (null: no face), read from the cache where present and stored there otherwise. */
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
