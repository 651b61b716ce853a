/**
 * The gallery's storage, behind one interface: SQLite (./sqlite.ts) is the embedded default; a
 * server database can implement the same methods later. Every method returns a promise, so a
 * networked store fits without changing callers, and every write is one transaction: after a crash
 * a person is either stored with all the faces of their enrolment or not touched.
 */
import type { DistanceSample } from '../match/calibrate.js';
import type { DescriptorBatch } from '../search/exact.js';
import type { Box } from '../types.js';
import type { KeyStore } from './keys.js';

export type { DistanceSample };

export type Metadata = Record<string, unknown>;
/** Changes to a person's metadata: a key set to null is removed, any other value replaces the key's. */
export type MetadataPatch = Readonly<Record<string, unknown>>;

/** The model every descriptor of a gallery comes from, and their length. */
export interface ModelTag {
  readonly modelId: string;
  readonly dims: number;
}

export interface PersonRecord {
  readonly id: number;
  readonly name: string;
  readonly metadata: Metadata;
  /** Faces stored for this person. */
  readonly faces: number;
  /** ISO 8601. */
  readonly createdAt: string;
}

/** A stored face without its descriptor (descriptors travel in bulk, see DescriptorBatch). */
export interface FaceRecord {
  readonly id: number;
  readonly personId: number;
  readonly person: string;
  readonly modelId: string;
  readonly sourceFile: string | null;
  /** SHA-256 of the source file's bytes, hex: how a re-enrolled photo is recognised. */
  readonly contentHash: string | null;
  readonly box: Box | null;
  readonly score: number | null;
  readonly quality: number | null;
  readonly createdAt: string;
}

export interface NewFace {
  readonly descriptor: Float32Array;
  readonly sourceFile?: string;
  readonly contentHash?: string;
  readonly box?: Box;
  /** Detector confidence. */
  readonly score?: number;
  /**
   * A quality in [0, 1], stored as given. The CLI gives the face's resolution against the
   * encoder's chip: min(1, min(box width, box height) / 150).
   */
  readonly quality?: number;
  /** A small JPEG of the face, kept with it where the store can (SQLite: schema 2). */
  readonly thumbnail?: Uint8Array;
}

export interface EnrollRequest {
  readonly name: string;
  readonly faces: readonly NewFace[];
  /** Merged into the person's metadata (a new person starts with it). */
  readonly metadata?: Metadata;
}

/** A face not stored because its photo (same content hash, same box) is in the gallery already. */
export interface DuplicateFace {
  /** Index into the request's faces. */
  readonly index: number;
  readonly existingFaceId: number;
  readonly existingPerson: string;
}

export interface EnrollOutcome {
  readonly person: PersonRecord;
  readonly created: boolean;
  /** Ids of the faces stored, in request order. */
  readonly added: number[];
  readonly duplicates: DuplicateFace[];
}

export type { DescriptorBatch };

/**
 * How far a reader has followed the store: faces above `maxFaceId` are new, log entries above
 * `logSeq` unread, and people (names, merges) changed when the store's revision is not `peopleRev`.
 */
export interface Watermark {
  readonly maxFaceId: number;
  readonly logSeq: number;
  readonly peopleRev: number;
}

/** Everything that changed after a watermark, read in one consistent snapshot. */
export interface ChangeSet {
  readonly added: DescriptorBatch;
  /** In log order: a face removed (person null) or moved to another person (merge). */
  readonly log: readonly { readonly faceId: number; readonly personId: number | null }[];
  /** Whether names or people changed (renames, merges, removals, new people). */
  readonly peopleChanged: boolean;
  readonly watermark: Watermark;
}

export interface CalibrationRecord {
  readonly id?: number;
  readonly modelId: string;
  /** Target false-accept rate. */
  readonly far: number;
  /** 1:1 threshold: a stranger's face falls within it of one given face at rate `far`. */
  readonly pairThreshold: number;
  /** 1:N threshold for this gallery: a stranger searched against it is accepted at rate `far`; null when too few probes. */
  readonly searchThreshold: number | null;
  readonly impostors: DistanceSample;
  readonly searchImpostors: DistanceSample | null;
  /** Same-person distances (may be empty when every person has one face). */
  readonly genuine: DistanceSample;
  /** 'gallery' or the labelled folder's path. */
  readonly source: string;
  /** Size of the gallery when calibrated: a 1:N threshold ages as the gallery grows. */
  readonly people: number;
  readonly faces: number;
  readonly createdAt: string;
}

export interface ClusterFace {
  readonly cluster: number;
  readonly sourceFile: string;
  readonly contentHash: string;
  readonly box: Box;
  readonly score: number;
  readonly descriptor: Float32Array;
  /** Person the cluster was named into, once it was. */
  readonly personId?: number | null;
}

export interface ClusterRun {
  readonly id: number;
  readonly modelId: string;
  readonly threshold: number;
  readonly inputs: string[];
  readonly createdAt: string;
  readonly faces: ClusterFace[];
}

export interface StoreStats {
  readonly people: number;
  readonly faces: number;
}

/** One face found in a photo of the photo index (issue 15's `facekit index`): unlabelled. */
export interface NewIndexedFace {
  readonly descriptor: Float32Array;
  readonly box: Box;
  /** Detector confidence. */
  readonly score: number;
  /** As NewFace's quality: min(1, min(box width, box height) / 150) from the CLI. */
  readonly quality?: number;
}

/** A photo for the index with every face found in it; none is a photo looked at and found without faces. */
export interface IndexPhoto {
  readonly sourceFile: string;
  /** SHA-256 of the photo's bytes, lowercase hex: the same bytes are indexed once per model. */
  readonly contentHash: string;
  readonly faces: readonly NewIndexedFace[];
}

export interface IndexPhotoOutcome {
  readonly contentHash: string;
  readonly photoId: number;
  /** Faces stored now (0 when the photo was indexed already). */
  readonly added: number;
  /** The photo (same bytes, same model) was in the index already: nothing was stored. */
  readonly already: boolean;
}

/** A stored face of the photo index, with its descriptor. */
export interface IndexedFace {
  readonly id: number;
  readonly photoId: number;
  readonly sourceFile: string;
  readonly contentHash: string;
  /** 1-based: the face's place among the photo's faces, as the detector ordered them. */
  readonly faceNumber: number;
  readonly box: Box;
  readonly score: number;
  readonly quality: number | null;
  readonly modelId: string;
  readonly descriptor: Float32Array;
  /** ISO 8601: when the photo was indexed. */
  readonly createdAt: string;
}

export interface PhotoIndexStats {
  readonly photos: number;
  readonly faces: number;
  /** Photos indexed in which no face was found. */
  readonly photosWithoutFaces: number;
}

export interface GalleryStore {
  /** The file (or server URL) this store lives in, for messages. */
  readonly location: string;
  /**
   * Held on a server that many hosts share (PostgreSQL): the ANN index file is then a per-host
   * cache under the user's cache folder, and its state is kept per host.
   */
  readonly shared?: boolean;
  /** Opened for reading only: nothing is written, not even the search index's state. */
  readonly readOnly?: boolean;
  /** Model of every stored descriptor, and their length; null before the first face. */
  model(): Promise<ModelTag | null>;
  /**
   * A number that changes when another connection commits: lets a reader skip `changesSince`
   * while nothing happened. Its own writes do not change it (callers know about those).
   */
  revision(): Promise<number>;
  stats(): Promise<StoreStats>;
  people(): Promise<PersonRecord[]>;
  person(name: string): Promise<PersonRecord | null>;
  /** Faces of one person (PERSON_NOT_FOUND if unknown), or of everyone. */
  faces(person?: string): Promise<FaceRecord[]>;
  /** Stored faces whose source had one of these content hashes. */
  facesWithHashes(hashes: readonly string[]): Promise<FaceRecord[]>;
  /**
   * Creates missing people and adds faces, skipping duplicates; all requests in one transaction,
   * which also ties an empty gallery to `model` (so a failed first enrolment leaves it untied).
   * MODEL_MISMATCH when the gallery holds another model or a descriptor is not `model.dims` long.
   */
  enroll(requests: readonly EnrollRequest[], model: ModelTag): Promise<EnrollOutcome[]>;
  /** Applies `patch` to a person's metadata (PERSON_NOT_FOUND if unknown). */
  setMetadata(name: string, patch: MetadataPatch): Promise<PersonRecord>;
  renamePerson(name: string, newName: string): Promise<PersonRecord>;
  /**
   * Moves every face of `from` to `into`, and the clusters named `from`, and deletes `from`;
   * metadata of `into` wins on conflicts.
   */
  mergePeople(from: string, into: string): Promise<PersonRecord>;
  /** Removes people and their faces in one transaction: PERSON_NOT_FOUND for any unknown name, and then nobody is removed. */
  removePeople(names: readonly string[]): Promise<{ readonly person: PersonRecord; readonly faces: number }[]>;
  /** Deletes faces (FACE_NOT_FOUND if any id is unknown: then none is deleted); a person left with no face is deleted too. */
  removeFaces(ids: readonly number[]): Promise<number>;
  /** Every descriptor and the watermark they are current to, in one snapshot. */
  snapshot(): Promise<{ readonly batch: DescriptorBatch; readonly watermark: Watermark }>;
  changesSince(watermark: Watermark): Promise<ChangeSet>;
  /** Face ids removed after log position `seq`, and the latest position. */
  removedSince(seq: number): Promise<{ readonly ids: number[]; readonly logSeq: number }>;
  personNames(): Promise<Map<number, string>>;
  /**
   * Stores calibrations in one transaction, each replacing the one of its model and rate (only
   * the newest per rate is kept); the first record becomes the newest, which is the default.
   */
  saveCalibrations(records: readonly CalibrationRecord[]): Promise<CalibrationRecord[]>;
  /** Calibrations of a model, newest first. */
  calibrations(modelId: string): Promise<CalibrationRecord[]>;
  saveClusterRun(run: Omit<ClusterRun, 'id' | 'createdAt'>): Promise<ClusterRun>;
  /** A cluster run by id, or the newest when id is omitted; null when there is none. */
  clusterRun(id?: number): Promise<ClusterRun | null>;
  /**
   * Enrols a cluster's faces under `name` and marks the cluster named, in one transaction: the
   * one-step "this group is Alice". When every face is enrolled already, the cluster is linked
   * to `name` if it owns some of them; otherwise INVALID_ARGUMENT names their owners.
   */
  nameCluster(runId: number, cluster: number, name: string): Promise<EnrollOutcome>;
  /**
   * Adds photos to the photo index, all in one transaction, with the gallery's model tied as
   * enrol ties it (MODEL_MISMATCH for another model or a wrong-length descriptor). A photo whose
   * bytes are indexed already for this model adds nothing, so a retried or repeated run is harmless.
   */
  indexPhotos(photos: readonly IndexPhoto[], model: ModelTag): Promise<IndexPhotoOutcome[]>;
  /** Those of `hashes` indexed already for `modelId`. */
  indexedHashes(hashes: readonly string[], modelId: string): Promise<string[]>;
  /** Every face of the photo index made by `modelId`, in id order. */
  indexedFaces(modelId: string): Promise<IndexedFace[]>;
  photoIndexStats(): Promise<PhotoIndexStats>;
  /** Small named values the gallery keeps with its data (the ANN index state). */
  getState(key: string): Promise<string | null>;
  setState(key: string, value: string | null): Promise<void>;
  close(): Promise<void>;
}

/**
 * What the HTTP service needs beyond the gallery: API keys, and single records by id. Both built-in
 * stores (SQLite, PostgreSQL) are service stores.
 */
export interface ServiceStore extends GalleryStore {
  readonly keys: KeyStore;
  personById(id: number): Promise<PersonRecord | null>;
  face(id: number): Promise<FaceRecord | null>;
  /** The JPEG thumbnail stored with a face at enrolment, or null. */
  thumbnail(faceId: number): Promise<Buffer | null>;
}
