/** facekit/gallery: galleries, their stores (SQLite, PostgreSQL, and the interface for others) and where they live. */
export { Gallery, openGallery } from '../gallery/gallery.js';
export type {
  CalibrateOptions,
  GalleryOptions,
  Identification,
  IdentifyOptions,
  IndexInfo,
  IndexMode,
  IndexSearch,
  IndexSearchOptions,
  LabelledFaces,
  ThresholdInfo,
  ThresholdOptions,
} from '../gallery/gallery.js';
export { defaultGalleryPath, GALLERY_ENV } from '../gallery/paths.js';
export { checkMetadataKey, checkName, MAX_NAME_LENGTH } from '../gallery/validate.js';
export { KEY_ROLES, SqliteKeys } from '../gallery/keys.js';
export type { ApiKeyRecord, KeyRole, KeyStore } from '../gallery/keys.js';
export { openSqliteStore, SqliteStore } from '../gallery/sqlite.js';
export { isPostgresUrl, openPostgresStore, PostgresStore } from '../gallery/postgres.js';
export type { PostgresStoreOptions } from '../gallery/postgres.js';
export { openStore, type OpenStoreOptions } from '../gallery/open-store.js';
export { DEFAULT_INDEX_LIMIT, type IndexMatch } from '../gallery/photo-search.js';
export type {
  CalibrationRecord,
  ChangeSet,
  ClusterFace,
  ClusterRun,
  DescriptorBatch,
  DistanceSample,
  DuplicateFace,
  EnrollOutcome,
  EnrollRequest,
  FaceRecord,
  GalleryStore,
  IndexedFace,
  IndexPhoto,
  IndexPhotoOutcome,
  NewIndexedFace,
  PhotoIndexStats,
  ServiceStore,
  Metadata,
  MetadataPatch,
  ModelTag,
  NewFace,
  PersonRecord,
  StoreStats,
  Watermark,
} from '../gallery/store.js';
export type { SqliteStoreOptions } from '../gallery/sqlite.js';
