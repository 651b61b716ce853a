/**
 * What every gallery store does the same way whatever its engine: descriptor bytes, row-to-record
 * mapping, the checks a face passes before it is written, and the rules for duplicates and for
 * linking a named cluster. SQLite (./sqlite.ts) and PostgreSQL (./postgres.ts) share them, so the
 * two backends cannot drift apart on what they accept.
 */
import { FaceKitError, invalidArgument } from '../errors.js';
import type { Box } from '../types.js';
import type { ClusterFace, EnrollOutcome, FaceRecord, Metadata, ModelTag, NewFace, PersonRecord } from './store.js';
import { parseStoredJson } from './stored-json.js';
import { checkDescriptor } from './validate.js';

/** Two faces of one photo are one face when their boxes overlap this much (intersection over union). */
export const SAME_FACE_IOU = 0.5;

/** A float32 array as the bytes a store keeps (a copy, so later edits of the array change nothing stored). */
export function toBlob(v: Float32Array): Buffer {
  return Buffer.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
}

/** Stored float32 bytes back to an array; buffers may sit at any byte offset, so the bytes are copied. */
export function fromBlob(b: Uint8Array): Float32Array {
  const out = new Float32Array(b.byteLength >> 2);
  new Uint8Array(out.buffer).set(b.subarray(0, out.byteLength));
  return out;
}

export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** A person as both stores' queries return them. */
export interface PersonRow {
  id: number;
  name: string;
  metadata: string;
  created_at: string;
  faces: number;
}

/** A face (with its person's name) as both stores' queries return them. */
export interface FaceRow {
  id: number;
  person_id: number;
  person: string;
  model_id: string;
  source_file: string | null;
  content_hash: string | null;
  box_x: number | null;
  box_y: number | null;
  box_w: number | null;
  box_h: number | null;
  score: number | null;
  quality: number | null;
  created_at: string;
}

export interface ClusterFaceRow {
  cluster: number;
  source_file: string;
  content_hash: string;
  box_x: number;
  box_y: number;
  box_w: number;
  box_h: number;
  score: number;
  descriptor: Uint8Array;
  person_id: number | null;
}

export function rowToPerson(r: PersonRow): PersonRecord {
  return {
    id: r.id,
    name: r.name,
    metadata: parseStoredJson<Metadata>(r.metadata, 'person metadata'),
    faces: r.faces,
    createdAt: r.created_at,
  };
}

const rowBox = (r: FaceRow): Box | null =>
  r.box_x === null || r.box_y === null || r.box_w === null || r.box_h === null
    ? null
    : { x: r.box_x, y: r.box_y, width: r.box_w, height: r.box_h };

export function rowToFace(r: FaceRow): FaceRecord {
  return {
    id: r.id,
    personId: r.person_id,
    person: r.person,
    modelId: r.model_id,
    sourceFile: r.source_file,
    contentHash: r.content_hash,
    box: rowBox(r),
    score: r.score,
    quality: r.quality,
    createdAt: r.created_at,
  };
}

export function rowToClusterFace(r: ClusterFaceRow): ClusterFace {
  return {
    cluster: r.cluster,
    sourceFile: r.source_file,
    contentHash: r.content_hash,
    box: { x: r.box_x, y: r.box_y, width: r.box_w, height: r.box_h },
    score: r.score,
    descriptor: fromBlob(r.descriptor),
    personId: r.person_id,
  };
}

/**
 * The stored face a new one repeats, among the faces stored with its content hash: same photo, and
 * either side lacks a box or the boxes are one face (a group photo may give one face to each of
 * several people).
 */
export function sameFace(face: NewFace, stored: readonly FaceRow[]): FaceRow | undefined {
  return stored.find((r) => {
    const box = rowBox(r);
    return !face.box || box === null || iou(face.box, box) >= SAME_FACE_IOU;
  });
}

/** A box's four numbers as given, whatever their types, for checking. */
function* boxValues(b: object): Generator<unknown> {
  const box = b as Record<string, unknown>;
  for (const key of ['x', 'y', 'width', 'height']) yield box[key];
}

/**
 * Checks one face before it is written. `holds` says what the descriptor's length is measured
 * against, for the message; `file` names the store.
 */
export function checkFace(
  face: NewFace,
  model: ModelTag,
  where: string,
  file: string,
  holds = `this gallery holds ${model.modelId} descriptors of ${model.dims}`,
): void {
  const d = checkDescriptor(face?.descriptor, `${where}.descriptor`);
  if (d.length !== model.dims)
    throw new FaceKitError('MODEL_MISMATCH', `${where}: a ${d.length}-d descriptor; ${holds}`, {
      file,
      field: `${where}.descriptor`,
    });
  const b: unknown = face.box;
  if (b !== undefined && !(typeof b === 'object' && b !== null && [...boxValues(b)].every(Number.isFinite)))
    throw invalidArgument(`${where}.box`, 'must hold finite x, y, width, height');
  if (
    face.contentHash !== undefined &&
    !(typeof face.contentHash === 'string' && /^[0-9a-f]{64}$/.test(face.contentHash))
  )
    throw invalidArgument(`${where}.contentHash`, 'must be a SHA-256 in lowercase hex');
  if (face.sourceFile !== undefined && typeof face.sourceFile !== 'string')
    throw invalidArgument(`${where}.sourceFile`, 'must be a string');
  for (const key of ['score', 'quality'] as const) {
    const v: unknown = face[key];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v)))
      throw invalidArgument(`${where}.${key}`, `must be a finite number, got ${String(v)}`);
  }
}

/** The refusal of descriptors of another model than the gallery's. */
export function modelMismatch(current: ModelTag, modelId: string, dims: number, file: string): FaceKitError {
  return new FaceKitError(
    'MODEL_MISMATCH',
    `gallery holds ${current.modelId} descriptors (${current.dims}-d); refusing ${modelId} (${dims}-d): descriptors of different models cannot be compared`,
    { file, field: 'modelId' },
  );
}

/** Checks the model an empty gallery is about to be tied to. */
export function checkNewModel(model: ModelTag): ModelTag {
  if (typeof model?.modelId !== 'string' || model.modelId === '')
    throw invalidArgument('model.modelId', 'must name the model the descriptors come from');
  if (!Number.isInteger(model.dims) || model.dims < 1)
    throw invalidArgument('model.dims', `must be a positive integer, got ${model.dims}`);
  return model;
}

/** The stored model tag, or GALLERY_CORRUPT for one no model makes. */
export function storedModel(id: string | undefined, dims: string | undefined, file: string): ModelTag | null {
  if (id === undefined || dims === undefined) return null;
  const n = Number(dims);
  // Older versions accepted an empty first descriptor and recorded 0 dimensions: say so instead of failing deeper down.
  if (!Number.isInteger(n) || n < 1) {
    throw new FaceKitError(
      'GALLERY_CORRUPT',
      `records descriptors of ${dims} values, which no model makes: damaged, or tied to an empty descriptor`,
      { file, field: 'dims' },
    );
  }
  return { modelId: id, dims: n };
}

/** The face-level checks of a cluster run: one model, positive cluster numbers. */
export function checkClusterFaces(
  faces: readonly ClusterFace[],
  runModelId: string,
  stored: ModelTag | null,
  file: string,
): void {
  if (!Array.isArray(faces)) throw invalidArgument('faces', 'must be an array of cluster faces');
  const tied = stored !== null && stored.modelId === runModelId;
  const tag: ModelTag = tied ? stored : { modelId: runModelId, dims: faces[0]?.descriptor?.length ?? 0 };
  const holds = tied ? undefined : `faces[0] has ${tag.dims}: one run holds descriptors of one model`;
  faces.forEach((f, i) => {
    checkFace(f, tag, `faces[${i}]`, file, holds);
    if (!Number.isInteger(f.cluster) || f.cluster < 1)
      throw invalidArgument(`faces[${i}].cluster`, `must be a positive integer, got ${f.cluster}`);
  });
}

/**
 * The person a named cluster links to: the one enrolled. When every face was in the gallery
 * already, only someone who owns some of them: linking another name would label a cluster
 * with a person none of its faces belongs to (and a new name was never created).
 */
export function clusterOwner(outcome: EnrollOutcome, cluster: number, file: string): number {
  if (outcome.added.length > 0) return outcome.person.id;
  const owners = [...new Set(outcome.duplicates.map((d) => d.existingPerson))];
  if (owners.includes(outcome.person.name)) return outcome.person.id;
  const list = owners.map((o) => `"${o}"`).join(', ');
  throw new FaceKitError(
    'INVALID_ARGUMENT',
    `every face of cluster ${cluster} is in the gallery already, as ${list}: nothing to enrol as "${outcome.person.name}"; name the cluster ${owners.length === 1 ? list : 'as one of them'}, or rename (facekit people rename)`,
    { file, field: 'person' },
  );
}

/** The first of `records` must become the newest: stores insert them last to first. */
export function checkCalibrationValues(c: { far: number; pairThreshold: number }): void {
  if (!(c.pairThreshold > 0 && Number.isFinite(c.pairThreshold)))
    throw invalidArgument('pairThreshold', `must be a positive number, got ${c.pairThreshold}`);
}

/** A cluster face's columns in insert order (run_id, cluster, source_file, content_hash, box, score, descriptor). */
export function clusterFaceValues(runId: number, f: ClusterFace): (number | string | Buffer)[] {
  return [
    runId,
    f.cluster,
    f.sourceFile,
    f.contentHash,
    f.box.x,
    f.box.y,
    f.box.width,
    f.box.height,
    f.score,
    toBlob(f.descriptor),
  ];
}
