/**
 * The photo index both stores keep (SQLite schema 3, PostgreSQL migration 2): every face found in
 * every indexed photo, unlabelled, so that "in which photos does this person appear?" can be
 * asked later. One row per photo (content hash + model, unique: the same bytes are indexed once
 * per model, whoever indexes them) and one per face. The checks and row mapping live here so the
 * two backends accept and return the same things.
 */
import { invalidArgument } from '../errors.js';
import { checkFace, fromBlob } from './records.js';
import type { IndexedFace, IndexPhoto, ModelTag } from './store.js';

/** A face of the photo index joined with its photo, as both stores' queries return them. */
export interface IndexedFaceRow {
  id: number;
  photo_id: number;
  source_file: string;
  content_hash: string;
  face_number: number;
  box_x: number;
  box_y: number;
  box_w: number;
  box_h: number;
  score: number;
  quality: number | null;
  model_id: string;
  descriptor: Uint8Array;
  created_at: string;
}

/** The SELECT both stores read indexed faces with (the caller adds WHERE/ORDER BY). */
export const INDEXED_FACE_SELECT = `SELECT f.id, f.photo_id, p.source_file, p.content_hash, f.face_number,
  f.box_x, f.box_y, f.box_w, f.box_h, f.score, f.quality, p.model_id, f.descriptor, p.created_at
  FROM indexed_faces f JOIN indexed_photos p ON p.id = f.photo_id`;

export function rowToIndexedFace(r: IndexedFaceRow): IndexedFace {
  return {
    id: Number(r.id),
    photoId: Number(r.photo_id),
    sourceFile: r.source_file,
    contentHash: r.content_hash,
    faceNumber: r.face_number,
    box: { x: r.box_x, y: r.box_y, width: r.box_w, height: r.box_h },
    score: r.score,
    quality: r.quality,
    modelId: r.model_id,
    descriptor: fromBlob(r.descriptor),
    createdAt: r.created_at,
  };
}

/**
 * Checks every photo before anything is written: a source file, a SHA-256, and faces that pass
 * the gallery's face checks with a box and a score (an index entry without a box could not say
 * where in the photo the person is).
 */
export function checkIndexPhotos(photos: readonly IndexPhoto[], model: ModelTag, file: string): void {
  if (!Array.isArray(photos)) throw invalidArgument('photos', 'must be an array of { sourceFile, contentHash, faces }');
  photos.forEach((p, i) => {
    const where = `photos[${i}]`;
    if (typeof p?.sourceFile !== 'string' || p.sourceFile === '')
      throw invalidArgument(`${where}.sourceFile`, 'must name the photo the faces were found in');
    if (typeof p.contentHash !== 'string' || !/^[0-9a-f]{64}$/.test(p.contentHash))
      throw invalidArgument(`${where}.contentHash`, 'must be a SHA-256 in lowercase hex');
    if (!Array.isArray(p.faces)) throw invalidArgument(`${where}.faces`, 'must be an array (empty: no face found)');
    (p.faces as IndexPhoto['faces']).forEach((f, j) => {
      const at = `${where}.faces[${j}]`;
      if (f?.box === undefined) throw invalidArgument(`${at}.box`, 'an indexed face needs its box');
      if (typeof f.score !== 'number') throw invalidArgument(`${at}.score`, 'an indexed face needs its detector score');
      checkFace(f, model, at, file);
    });
  });
}

/** The model of photos without faces indexed into an untied gallery: only its id is needed. */
export function checkModelId(model: ModelTag): ModelTag {
  if (typeof model?.modelId !== 'string' || model.modelId === '')
    throw invalidArgument('model.modelId', 'must name the model the descriptors come from');
  return model;
}

/** The face columns in insert order (photo_id, face_number, box, score, quality, descriptor); face numbers start at 1. */
export function indexedFaceValues(
  photoId: number,
  face: IndexPhoto['faces'][number],
  index: number,
): [number, number, number, number, number, number, number, number | null, Buffer] {
  const d = face.descriptor;
  return [
    photoId,
    index + 1,
    face.box.x,
    face.box.y,
    face.box.width,
    face.box.height,
    face.score,
    face.quality ?? null,
    Buffer.from(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)),
  ];
}

/** Creates the two tables; `id`, `blob` and `real` are the engine's spellings. */
export function photoIndexSchema(id: string, blob: string, real: string): string {
  return `
CREATE TABLE indexed_photos (
  id ${id},
  content_hash TEXT NOT NULL,
  model_id TEXT NOT NULL,
  source_file TEXT NOT NULL,
  faces INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (content_hash, model_id)
);
CREATE TABLE indexed_faces (
  id ${id},
  photo_id BIGINT NOT NULL REFERENCES indexed_photos(id) ON DELETE CASCADE,
  face_number INTEGER NOT NULL,
  box_x ${real} NOT NULL, box_y ${real} NOT NULL, box_w ${real} NOT NULL, box_h ${real} NOT NULL,
  score ${real} NOT NULL,
  quality ${real},
  descriptor ${blob} NOT NULL,
  UNIQUE (photo_id, face_number)
);
`;
}
