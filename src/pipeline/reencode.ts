import { createHash } from 'node:crypto';
import { FaceKitError } from '../errors.js';
import type { FaceRecord, NewFace } from '../gallery/store.js';
import type { Gallery } from '../gallery/gallery.js';
import { iou } from '../gallery/records.js';
import { DEFAULT_MAX_FILE_BYTES, loadImage } from '../image/decode.js';
import type { Detection } from '../types.js';
import { readRegularFile } from '../util/regular-file.js';
import { faceQuality, hashFile } from './enroll.js';
import type { FaceKit } from './kit.js';

/**
 * Re-encodes a gallery with another embedder (`facekit people reencode`): descriptors of two
 * embedders cannot be compared, so every stored face is found again in the photo it was enrolled
 * from and encoded with the new embedder into a second gallery. The source gallery is only read;
 * the target is written one person at a time, each in one transaction, and only when all of that
 * person's faces were re-encoded, so a failure never leaves a person half moved. Faces already in
 * the target (same photo, same box) are skipped, so a second run finishes what a first one could not.
 */

/** A face whose photo is found again is the detection overlapping its stored box at least this much. */
export const REENCODE_MIN_IOU = 0.3;

export interface ReencodeFailure {
  readonly person: string;
  readonly faceId: number;
  readonly sourceFile: string | null;
  readonly code: 'FILE_NOT_FOUND' | 'FACE_NOT_FOUND' | 'FILE_UNREADABLE' | 'CORRUPT_IMAGE' | string;
  readonly message: string;
}

export interface ReencodePersonReport {
  readonly person: string;
  readonly faces: number;
  /** Faces stored in the target by this run (0 when it held them all already). */
  readonly added: number;
  /** False when a face could not be re-encoded: the person was left out of the target. */
  readonly moved: boolean;
}

export interface ReencodeResult {
  readonly people: readonly ReencodePersonReport[];
  readonly failures: readonly ReencodeFailure[];
}

export interface ReencodeOptions {
  /**
   * Photos to look in, by content hash, for a face whose source file moved, was renamed or
   * changed (the stored hash says which bytes it was enrolled from).
   */
  readonly photos?: readonly string[];
  /** Only these people (default: everyone). */
  readonly people?: readonly string[];
  readonly onPerson?: (report: ReencodePersonReport, done: number, total: number) => void;
}

/** The photo bytes a face was enrolled from: at its stored path when unchanged, else by content hash among `photos`. */
class PhotoFinder {
  private byHash?: Map<string, string>;
  constructor(private readonly photos: readonly string[]) {}

  async find(face: FaceRecord): Promise<{ file: string; bytes: Buffer } | null> {
    if (face.sourceFile) {
      const bytes = await readRegularFile(face.sourceFile, { maxBytes: DEFAULT_MAX_FILE_BYTES }).catch(() => null);
      // Without a stored hash the path is all there is; with one, the bytes must still be those.
      if (bytes && (!face.contentHash || sha256(bytes) === face.contentHash)) return { file: face.sourceFile, bytes };
    }
    if (!face.contentHash) return null;
    this.byHash ??= await this.index();
    const file = this.byHash.get(face.contentHash);
    return file ? { file, bytes: await readRegularFile(file, { maxBytes: DEFAULT_MAX_FILE_BYTES }) } : null;
  }

  private async index(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const f of this.photos) {
      const h = await hashFile(f).catch(() => null);
      if (h && !out.has(h)) out.set(h, f);
    }
    return out;
  }
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The detection that is the stored face: the best overlap with its box (the only face when no box was stored). */
function sameFace(detections: readonly Detection[], face: FaceRecord): Detection | undefined {
  if (!face.box) return detections.length === 1 ? detections[0] : undefined;
  let best: Detection | undefined;
  let bestOverlap = REENCODE_MIN_IOU;
  for (const d of detections) {
    const o = iou(d.box, face.box);
    if (o >= bestOverlap) {
      best = d;
      bestOverlap = o;
    }
  }
  return best;
}

export async function reencodeGallery(
  source: Gallery,
  target: Gallery,
  kit: Pick<FaceKit, 'detect' | 'landmarks' | 'encode' | 'embedderId'>,
  options: ReencodeOptions = {},
): Promise<ReencodeResult> {
  if (kit.embedderId !== target.modelId)
    throw new FaceKitError(
      'MODEL_MISMATCH',
      `the kit encodes ${kit.embedderId} descriptors; the target gallery holds ${target.modelId} descriptors`,
      { field: 'embedder' },
    );
  if (source.modelId === target.modelId)
    throw new FaceKitError(
      'INVALID_ARGUMENT',
      `the gallery holds ${source.modelId} descriptors already: name another embedder to re-encode with`,
      { field: 'embedder' },
    );
  // Every name is checked before anything is written (PERSON_NOT_FOUND names the first unknown one).
  const people = options.people
    ? await Promise.all(options.people.map((n) => source.person(n)))
    : await source.people();
  const finder = new PhotoFinder(options.photos ?? []);
  const reports: ReencodePersonReport[] = [];
  const failures: ReencodeFailure[] = [];
  for (const person of people) {
    const stored = await source.faces(person.name);
    const faces: NewFace[] = [];
    const before = failures.length;
    for (const face of stored) {
      const fail = (code: string, message: string) =>
        failures.push({ person: person.name, faceId: face.id, sourceFile: face.sourceFile, code, message });
      try {
        const photo = await finder.find(face);
        if (!photo) {
          fail(
            'FILE_NOT_FOUND',
            face.sourceFile
              ? `${face.sourceFile} is gone or changed, and no photo given with --photos has its content`
              : 'the face was stored without its photo',
          );
          continue;
        }
        const image = await loadImage(photo.bytes);
        const detection = sameFace(await kit.detect(image), face);
        if (!detection) {
          fail('FACE_NOT_FOUND', `${photo.file}: no face found where the stored one was`);
          continue;
        }
        const [withPoints] = await kit.landmarks(image, [detection]);
        const [descriptor] = await kit.encode(image, [withPoints]);
        faces.push({
          descriptor,
          sourceFile: photo.file,
          contentHash: face.contentHash ?? sha256(photo.bytes),
          box: detection.box,
          score: detection.score,
          quality: face.quality ?? faceQuality(detection.box),
        });
      } catch (cause) {
        const e = cause instanceof FaceKitError ? cause : undefined;
        fail(e?.code ?? 'FILE_UNREADABLE', e?.message ?? String(cause));
      }
    }
    const moved = failures.length === before;
    // All of a person's faces in one transaction, or none of them.
    const added = moved ? (await target.enroll(person.name, faces, person.metadata)).added.length : 0;
    const report = { person: person.name, faces: stored.length, added, moved };
    reports.push(report);
    options.onPerson?.(report, reports.length, people.length);
  }
  return { people: reports, failures };
}
