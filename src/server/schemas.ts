/**
 * JSON schemas of everything the service reads and writes. Fastify validates requests and
 * serialises responses with them, and the OpenAPI document is generated from them: one source.
 */
import { DETECTOR_NAMES } from '../detect/registry.js';
import { KEY_ROLES } from '../gallery/keys.js';
import { AGGREGATIONS } from '../match/aggregate.js';
import { PRECISIONS } from '../models/registry.js';

export type Schema = Record<string, unknown>;

/** Most values a descriptor may have: far above any model's (128), far below a body limit's worth. */
export const MAX_DESCRIPTOR_LENGTH = 4096;
/** Most descriptors in one identify or cluster request. */
export const MAX_DESCRIPTORS = 10_000;

/**
 * A photo sent as a multipart file part. Validation accepts what @fastify/multipart hands over
 * (an object holding the bytes); the OpenAPI document shows it as binary. The generator
 * recognises this very object.
 */
export const FILE: Schema = { description: 'a photo: JPEG, PNG, WebP, GIF, TIFF or AVIF' };
export const FILES: Schema = { anyOf: [FILE, { type: 'array', items: FILE }] };

export const BASE64_IMAGE: Schema = {
  type: 'string',
  minLength: 1,
  description: 'a photo, base64 (a data: URL prefix is accepted)',
};

export const box: Schema = {
  type: 'object',
  required: ['x', 'y', 'width', 'height'],
  properties: { x: { type: 'number' }, y: { type: 'number' }, width: { type: 'number' }, height: { type: 'number' } },
};
const point: Schema = {
  type: 'object',
  required: ['x', 'y'],
  properties: { x: { type: 'number' }, y: { type: 'number' } },
};
export const descriptor: Schema = {
  type: 'array',
  items: { type: 'number' },
  minItems: 1,
  maxItems: MAX_DESCRIPTOR_LENGTH,
  description: 'a face descriptor (128 numbers for dlib_resnet128)',
};
export const descriptors: Schema = { type: 'array', items: descriptor, minItems: 1, maxItems: MAX_DESCRIPTORS };

/** Per-request pipeline options (query string for raw bodies, fields otherwise). */
export const recognitionOptions: Record<string, Schema> = {
  detector: { type: 'string', enum: [...DETECTOR_NAMES], description: 'face detector (default: the server’s)' },
  precision: { type: 'string', enum: [...PRECISIONS], description: 'fp32 (default) or int8' },
  minConfidence: { type: 'number', minimum: 0, exclusiveMaximum: 1, description: 'drop faces scored below' },
  maxFaces: { type: 'integer', minimum: 1, description: 'keep the best N faces (at most the server’s limit)' },
  retryOnMiss: {
    type: 'boolean',
    description: 'when nothing is found, try the other detectors and sizes (default: on for enrolment, off otherwise)',
  },
};

export const thresholdOptions: Record<string, Schema> = {
  threshold: { type: 'number', exclusiveMinimum: 0, description: 'decide with this distance, whatever is calibrated' },
  far: {
    type: 'number',
    exclusiveMinimum: 0,
    exclusiveMaximum: 0.5,
    description: 'use the calibration made for this false-accept rate',
  },
};

export const identifyOptions: Record<string, Schema> = {
  ...thresholdOptions,
  k: { type: 'integer', minimum: 1, maximum: 1000, description: 'nearest faces looked at (10)' },
  aggregate: { type: 'string', enum: [...AGGREGATIONS], description: 'how a person’s faces combine (best)' },
};

export const object = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: 'object',
  properties,
  ...(required.length > 0 ? { required } : {}),
  additionalProperties: false,
});

export const detectedFace: Schema = object(
  { box, score: { type: 'number' }, landmarks5: { type: 'array', items: point } },
  ['box', 'score'],
);
export const analyzedFace: Schema = object(
  {
    box,
    score: { type: 'number' },
    landmarks: { type: 'array', items: point },
    landmarks5: { type: 'array', items: point },
    descriptor,
  },
  ['box', 'score', 'descriptor'],
);

export const photoOf = (face: Schema): Schema =>
  object({ width: { type: 'integer' }, height: { type: 'integer' }, faces: { type: 'array', items: face } }, [
    'width',
    'height',
    'faces',
  ]);

const nullable = (s: Schema): Schema => ({ ...s, nullable: true });

export const identification: Schema = object(
  {
    box: nullable(box),
    score: { type: 'number', nullable: true },
    person: { type: 'string', nullable: true, description: 'null: nobody within the threshold' },
    personId: { type: 'integer', nullable: true },
    distance: { type: 'number' },
    nearest: { type: 'string' },
    faceId: { type: 'integer' },
    threshold: { type: 'number' },
    confidence: { type: 'number', nullable: true },
    margin: { type: 'number', nullable: true },
    runnerUp: nullable(object({ person: { type: 'string' }, distance: { type: 'number' } })),
    votes: { type: 'integer' },
  },
  ['person', 'distance', 'nearest', 'threshold'],
);

export const person: Schema = object(
  {
    id: { type: 'integer' },
    name: { type: 'string' },
    metadata: { type: 'object', additionalProperties: true },
    faces: { type: 'integer' },
    createdAt: { type: 'string' },
  },
  ['id', 'name', 'metadata', 'faces', 'createdAt'],
);

export const face: Schema = object(
  {
    id: { type: 'integer' },
    personId: { type: 'integer' },
    person: { type: 'string' },
    modelId: { type: 'string' },
    sourceFile: { type: 'string', nullable: true },
    contentHash: { type: 'string', nullable: true },
    box: nullable(box),
    score: { type: 'number', nullable: true },
    quality: { type: 'number', nullable: true },
    createdAt: { type: 'string' },
  },
  ['id', 'personId', 'person', 'modelId', 'createdAt'],
);

export const enrollment: Schema = object(
  {
    person,
    created: { type: 'boolean' },
    added: { type: 'array', items: { type: 'integer' } },
    duplicates: {
      type: 'array',
      items: object({
        index: { type: 'integer' },
        existingFaceId: { type: 'integer' },
        existingPerson: { type: 'string' },
      }),
    },
    rejected: {
      type: 'array',
      description: 'photos not enrolled (no face, several faces, unreadable), with why',
      items: object({ index: { type: 'integer' }, code: { type: 'string' }, message: { type: 'string' } }),
    },
  },
  ['person', 'created', 'added', 'duplicates', 'rejected'],
);

export const apiKey: Schema = object(
  {
    id: { type: 'integer' },
    name: { type: 'string' },
    role: { type: 'string', enum: [...KEY_ROLES] },
    shown: { type: 'string', description: 'the key’s first characters' },
    createdAt: { type: 'string' },
    revokedAt: { type: 'string', nullable: true },
  },
  ['id', 'name', 'role', 'shown', 'createdAt', 'revokedAt'],
);

export const errorResponse: Schema = object(
  {
    error: object({ code: { type: 'string' }, message: { type: 'string' }, field: { type: 'string' } }, [
      'code',
      'message',
    ]),
  },
  ['error'],
);

export const idParams: Schema = object({ id: { type: 'integer', minimum: 1 } }, ['id']);
