/**
 * Photos, descriptors and options out of a request, whichever way it came: a multipart upload, the
 * photo as the raw body, or base64 in JSON.
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { FaceKitError, invalidArgument } from '../errors.js';
import type { ServiceContext } from './context.js';
import type { PhotoResult, Task } from './inference-protocol.js';
import type { RecognitionOptions } from './limits.js';

/** A photo as received: its bytes, what errors call it, and its file name when the client gave one. */
export interface Photo {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly filename?: string;
}

/** What @fastify/multipart hands over for a file part (see app.ts onFile). */
export interface FilePart {
  readonly bytes: Buffer;
  readonly filename?: string;
}

export const isFilePart = (v: unknown): v is FilePart =>
  typeof v === 'object' && v !== null && Buffer.isBuffer((v as FilePart).bytes);

const DATA_URL = /^data:[\w.+/-]*;base64,/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export function fromBase64(text: string, field: string): Uint8Array {
  const clean = text.replace(DATA_URL, '').replace(/\s+/g, '');
  if (!BASE64.test(clean)) throw invalidArgument(field, 'is not base64 (send the photo base64-encoded, or as a file)');
  return Buffer.from(clean, 'base64');
}

type Body = Record<string, unknown>;

/** The field a raw-body photo stands for. */
export const RAW_FIELD = 'image';

export function bodyObject(request: FastifyRequest): Body {
  const b = request.body;
  return typeof b === 'object' && b !== null && !Buffer.isBuffer(b) ? (b as Body) : {};
}

/**
 * The photos of field `field` (a multipart file part or several, or base64 strings in JSON), or
 * the raw body as one photo. Empty when the request holds none.
 */
export function photosIn(request: FastifyRequest, field: string, limit: number): Photo[] {
  // A raw body is the request's one photo, whatever the route calls it.
  if (Buffer.isBuffer(request.body)) return field === RAW_FIELD ? [{ name: field, bytes: request.body }] : [];
  const value = bodyObject(request)[field];
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  if (list.length > limit)
    throw new FaceKitError('PAYLOAD_TOO_LARGE', `${field}: ${list.length} photos; at most ${limit} per request`, {
      field,
    });
  return list.map((v, i) => {
    const name = Array.isArray(value) ? `${field}[${i}]` : field;
    if (isFilePart(v)) return { name, bytes: v.bytes, ...(v.filename ? { filename: v.filename } : {}) };
    if (typeof v === 'string') return { name, bytes: fromBase64(v, name) };
    throw invalidArgument(name, 'must be a photo: a multipart file part or a base64 string');
  });
}

export function onePhoto(request: FastifyRequest, field: string): Photo | null {
  const photos = photosIn(request, field, 1);
  return photos[0] ?? null;
}

export function descriptorOf(value: unknown, field: string): Float32Array {
  if (!Array.isArray(value) || value.length === 0 || !value.every((x) => typeof x === 'number' && Number.isFinite(x)))
    throw invalidArgument(field, 'must be a non-empty array of finite numbers');
  return Float32Array.from(value as number[]);
}

/** Options from the query string and the body (the body wins), with the server's defaults. */
export function recognitionOptions(
  request: FastifyRequest,
  ctx: ServiceContext,
  retryOnMiss = ctx.defaults.retryOnMiss,
): RecognitionOptions {
  const given = { ...(request.query as Body), ...bodyObject(request) } as Partial<RecognitionOptions>;
  const maxFaces = given.maxFaces ?? ctx.defaults.maxFaces;
  if (maxFaces > ctx.limits.maxFaces)
    throw invalidArgument('maxFaces', `at most ${ctx.limits.maxFaces} faces per photo on this server, got ${maxFaces}`);
  return {
    detector: given.detector ?? ctx.defaults.detector,
    precision: given.precision ?? ctx.defaults.precision,
    minConfidence: given.minConfidence ?? ctx.defaults.minConfidence,
    maxFaces,
    retryOnMiss: given.retryOnMiss ?? retryOnMiss,
  };
}

export function contentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Aborted when the client closes the connection before its answer is written (set up in app.ts). */
export const clientGone = new WeakMap<FastifyRequest, AbortSignal>();

/** Requests one of whose photos the pool has let in. */
const admittedRequests = new WeakSet<FastifyRequest>();

/**
 * The photo's bytes as a worker may own them. A Buffer spanning its whole ArrayBuffer (an upload
 * past a few KB: Node allocates those alone) is moved to the worker as it is, without a copy; a
 * slice of Node's shared pool or of a larger buffer is copied first, since moving it would take
 * the rest of that memory away from its other users.
 */
function transferable(bytes: Uint8Array): Uint8Array {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return whole && bytes.buffer instanceof ArrayBuffer ? bytes : new Uint8Array(bytes);
}

/**
 * Runs one photo through the worker pool. Its bytes are handed over to the worker (see
 * transferable): the caller must not read `photo.bytes` afterwards (hash it first). A photo still
 * waiting when its client goes away is dropped from the queue.
 */
export function analyzePhoto(
  ctx: ServiceContext,
  request: FastifyRequest,
  photo: Photo,
  task: Task,
  options: RecognitionOptions,
  thumbnails = false,
): Promise<PhotoResult> {
  // The wait bound decides whether a request gets in; its later photos only need queue room.
  const admitted = admittedRequests.has(request);
  if (!admitted && !ctx.pool.saturated) admittedRequests.add(request);
  return ctx.pool.analyze(
    {
      task,
      bytes: transferable(photo.bytes),
      name: photo.name,
      options,
      maxPixels: ctx.limits.maxPixels,
      thumbnails,
    },
    clientGone.get(request),
    admitted,
  );
}

export const plainDescriptor = (d: Float32Array | undefined): number[] => (d ? Array.from(d) : []);
