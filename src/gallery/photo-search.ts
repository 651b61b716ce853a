/**
 * Searching the photo index: which indexed photos hold a face within the threshold of the query
 * (one face's descriptor, or every enrolled face of a person), closest first. A photo is listed
 * once, with its closest face: a person appears at most once in a photo, and a second face within
 * the threshold in the same photo is a look-alike, not a second sighting.
 */
import { invalidArgument } from '../errors.js';
import { euclideanDistance } from '../match/distance.js';
import type { Box } from '../types.js';
import type { IndexedFace } from './store.js';

/** Photos listed by default: enough for a person's album, few enough to print. */
export const DEFAULT_INDEX_LIMIT = 100;

export interface IndexMatch {
  readonly sourceFile: string;
  readonly contentHash: string;
  readonly photoId: number;
  readonly faceId: number;
  readonly faceNumber: number;
  readonly box: Box;
  /** Detector score of the face in the photo. */
  readonly score: number;
  /** Smallest distance of this face to any query descriptor. */
  readonly distance: number;
}

export function checkLimit(limit: number | undefined): number {
  const n = limit ?? DEFAULT_INDEX_LIMIT;
  if (!Number.isInteger(n) || n < 1) throw invalidArgument('limit', `must be a positive integer, got ${String(limit)}`);
  return n;
}

/** The photos whose closest face to any query is within `threshold`, closest first, at most `limit`. */
export function rankIndexedPhotos(
  faces: readonly IndexedFace[],
  queries: readonly Float32Array[],
  threshold: number,
  limit: number,
): IndexMatch[] {
  const best = new Map<number, IndexMatch>();
  for (const f of faces) {
    let distance = Number.POSITIVE_INFINITY;
    for (const q of queries) distance = Math.min(distance, euclideanDistance(f.descriptor, q));
    if (!(distance <= threshold)) continue;
    const held = best.get(f.photoId);
    if (held && held.distance <= distance) continue;
    best.set(f.photoId, {
      sourceFile: f.sourceFile,
      contentHash: f.contentHash,
      photoId: f.photoId,
      faceId: f.id,
      faceNumber: f.faceNumber,
      box: f.box,
      score: f.score,
      distance,
    });
  }
  return [...best.values()].sort((a, b) => a.distance - b.distance || a.photoId - b.photoId).slice(0, limit);
}
