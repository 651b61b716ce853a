/**
 * The PostgreSQL gallery's schema, as numbered migrations recorded in `facekit.migrations`. Every
 * table lives in the `facekit` schema, so a gallery can share a database with other applications.
 * A migration and its record commit together, under an advisory lock: instances starting at once
 * apply each step exactly once, and a crash leaves the database at the previous version.
 */

import { photoIndexSchema } from './photo-index.js';

/** Step n brings a database at version n - 1 to version n. Never edit a released step: add one. */
export const PG_MIGRATIONS: readonly { readonly version: number; readonly name: string; readonly sql: string }[] = [
  {
    version: 1,
    name: 'gallery, change log, calibrations, cluster runs, API keys, thumbnails',
    sql: `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE people (
  id BIGSERIAL PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  metadata TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL
);
-- A sequence never hands out an id twice: the change log and the ANN index (keyed by face id)
-- can never confuse an old face with a new one.
CREATE TABLE faces (
  id BIGSERIAL PRIMARY KEY,
  person_id BIGINT NOT NULL REFERENCES people(id),
  model_id TEXT NOT NULL,
  descriptor BYTEA NOT NULL,
  source_file TEXT,
  content_hash TEXT,
  box_x DOUBLE PRECISION, box_y DOUBLE PRECISION, box_w DOUBLE PRECISION, box_h DOUBLE PRECISION,
  score DOUBLE PRECISION,
  quality DOUBLE PRECISION,
  created_at TEXT NOT NULL
);
CREATE INDEX faces_person ON faces(person_id);
CREATE INDEX faces_hash ON faces(content_hash) WHERE content_hash IS NOT NULL;
CREATE TABLE face_log (seq BIGSERIAL PRIMARY KEY, face_id BIGINT NOT NULL, person_id BIGINT);
CREATE TABLE calibrations (
  id BIGSERIAL PRIMARY KEY,
  model_id TEXT NOT NULL,
  far DOUBLE PRECISION NOT NULL,
  pair_threshold DOUBLE PRECISION NOT NULL,
  search_threshold DOUBLE PRECISION,
  impostors BYTEA NOT NULL, impostors_total BIGINT NOT NULL,
  search_impostors BYTEA, search_impostors_total BIGINT,
  genuine BYTEA NOT NULL, genuine_total BIGINT NOT NULL,
  source TEXT NOT NULL,
  people BIGINT NOT NULL,
  faces BIGINT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE cluster_runs (
  id BIGSERIAL PRIMARY KEY,
  model_id TEXT NOT NULL,
  threshold DOUBLE PRECISION NOT NULL,
  inputs TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE cluster_faces (
  id BIGSERIAL PRIMARY KEY,
  run_id BIGINT NOT NULL REFERENCES cluster_runs(id) ON DELETE CASCADE,
  cluster INTEGER NOT NULL,
  source_file TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  box_x DOUBLE PRECISION NOT NULL, box_y DOUBLE PRECISION NOT NULL,
  box_w DOUBLE PRECISION NOT NULL, box_h DOUBLE PRECISION NOT NULL,
  score DOUBLE PRECISION NOT NULL,
  descriptor BYTEA NOT NULL,
  person_id BIGINT REFERENCES people(id) ON DELETE SET NULL
);
CREATE INDEX cluster_faces_run ON cluster_faces(run_id, cluster);
CREATE TABLE api_keys (
  id BIGSERIAL PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'recognize')),
  hash TEXT NOT NULL UNIQUE,
  shown TEXT NOT NULL,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE TABLE face_thumbnails (
  face_id BIGINT PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,
  jpeg BYTEA NOT NULL
);
INSERT INTO meta (key, value) VALUES ('people_rev', '0'), ('rev', '0');
`,
  },
  {
    version: 2,
    name: 'photo index (facekit index)',
    sql: photoIndexSchema('BIGSERIAL PRIMARY KEY', 'BYTEA', 'DOUBLE PRECISION'),
  },
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1].version;
