/** The gallery: people, their faces and thumbnails, clustering and calibration. */
import type { FastifyRequest } from 'fastify';
import { clusterFaces } from '../../cluster/cluster.js';
import { FaceKitError, invalidArgument } from '../../errors.js';
import type { NewFace, PersonRecord } from '../../gallery/store.js';
import { checkName } from '../../gallery/validate.js';
import type { RouteSpec, ServiceContext } from '../context.js';
import type { PhotoResult } from '../inference-protocol.js';
import {
  analyzePhoto,
  bodyObject,
  contentHash,
  descriptorOf,
  photosIn,
  recognitionOptions,
  type Photo,
} from '../input.js';
import { faceQuality, largestFace } from '../pipeline.js';
import {
  BASE64_IMAGE,
  box,
  descriptors,
  enrollment,
  face,
  FILES,
  idParams,
  object,
  person,
  recognitionOptions as optionSchemas,
  type Schema,
} from '../schemas.js';

/** Photo problems that reject one photo of an enrolment, not the request. */
const PHOTO_PROBLEMS: ReadonlySet<string> = new Set([
  'NO_FACE',
  'MULTIPLE_FACES',
  'NOT_AN_IMAGE',
  'UNSUPPORTED_FORMAT',
  'CORRUPT_IMAGE',
  'IMAGE_TOO_LARGE',
  'EMPTY_INPUT',
]);

const metadataJson: Schema = { type: 'object', additionalProperties: true, description: 'merged into the person’s' };
const facesJson = {
  images: { type: 'array', items: BASE64_IMAGE, minItems: 1, description: 'photos, base64; one face each' },
  descriptors,
  largest: { type: 'boolean', description: 'take the largest face of a photo showing several (else it is rejected)' },
};
const facesMultipart = {
  image: FILES,
  largest: { type: 'boolean' },
};

async function personById(ctx: ServiceContext, id: number): Promise<PersonRecord> {
  const found = await ctx.store.personById(id);
  if (!found) throw new FaceKitError('PERSON_NOT_FOUND', `no person with id ${id} in the gallery`, { field: 'id' });
  return found;
}

interface Rejected {
  index: number;
  code: string;
  message: string;
}

/** Analyses the photos a worker-pool's width at a time: one request never fills the whole queue. */
async function analyzeAll(
  ctx: ServiceContext,
  request: FastifyRequest,
  photos: readonly Photo[],
  enrolment: boolean,
): Promise<(PhotoResult | FaceKitError)[]> {
  const options = recognitionOptions(request, ctx, enrolment);
  const out: (PhotoResult | FaceKitError)[] = [];
  for (let i = 0; i < photos.length; i += ctx.pool.workers) {
    const settled = await Promise.allSettled(
      photos.slice(i, i + ctx.pool.workers).map((p) => analyzePhoto(ctx, request, p, 'analyze', options, true)),
    );
    for (const s of settled) {
      if (s.status === 'fulfilled') out.push(s.value);
      else if (s.reason instanceof FaceKitError && PHOTO_PROBLEMS.has(s.reason.code)) out.push(s.reason);
      // Anything else (busy, timeout, a worker failure) fails the request: nothing is enrolled.
      else throw s.reason;
    }
  }
  return out;
}

/** The faces a request brings (photos with one face each, or descriptors), and the photos turned down. */
async function newFaces(
  ctx: ServiceContext,
  request: FastifyRequest,
): Promise<{ faces: NewFace[]; rejected: Rejected[] }> {
  const body = bodyObject(request);
  const photos = [
    ...photosIn(request, 'image', ctx.limits.maxImages),
    ...photosIn(request, 'images', ctx.limits.maxImages),
  ];
  if (photos.length > ctx.limits.maxImages)
    throw new FaceKitError('PAYLOAD_TOO_LARGE', `${photos.length} photos; at most ${ctx.limits.maxImages} per request`);
  const given = body.descriptors === undefined ? [] : (body.descriptors as unknown[]);
  if (photos.length === 0 && given.length === 0)
    throw invalidArgument(
      'images',
      'no face given: send photos (file parts, raw body or base64 images) or descriptors',
    );
  const faces: NewFace[] = given.map((d, i) => ({ descriptor: descriptorOf(d, `descriptors[${i}]`) }));
  const rejected: Rejected[] = [];
  // Hashed before analysis: the pool takes each photo's bytes over (moved to a worker, not copied).
  const hashes = photos.map((p) => contentHash(p.bytes));
  const results = await analyzeAll(ctx, request, photos, true);
  for (const [index, r] of results.entries()) {
    const reject = (code: string, message: string): void => {
      rejected.push({ index, code, message });
    };
    if (r instanceof FaceKitError) {
      reject(r.code, r.message);
      continue;
    }
    if (r.faces.length === 0) {
      reject('NO_FACE', `${photos[index].name}: no face found`);
      continue;
    }
    if (r.faces.length > 1 && body.largest !== true) {
      reject('MULTIPLE_FACES', `${photos[index].name}: ${r.faces.length} faces; send largest=true to take the largest`);
      continue;
    }
    const f = largestFace(r.faces) as (typeof r.faces)[number];
    faces.push({
      descriptor: f.descriptor as Float32Array,
      box: f.box,
      score: f.score,
      quality: faceQuality(f.box),
      contentHash: hashes[index],
      ...(photos[index].filename ? { sourceFile: photos[index].filename } : {}),
      ...(f.thumbnail ? { thumbnail: f.thumbnail } : {}),
    });
  }
  if (faces.length === 0) {
    const first = rejected[0];
    throw new FaceKitError(
      first.code as FaceKitError['code'],
      `no photo could be enrolled: ${rejected.map((r) => r.message).join('; ')}`,
      {
        field: 'images',
      },
    );
  }
  return { faces, rejected };
}

function metadataOf(value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    try {
      return JSON.parse(value) as Record<string, unknown>;
    } catch {
      throw invalidArgument('metadata', 'must be a JSON object');
    }
  }
  return value as Record<string, unknown>;
}

async function enroll(ctx: ServiceContext, request: FastifyRequest, name: string, metadata?: Record<string, unknown>) {
  const { faces, rejected } = await newFaces(ctx, request);
  const outcome = await ctx.gallery.enroll(name, faces, metadata);
  return { ...outcome, rejected };
}

const removedPerson: Schema = object({ person, faces: { type: 'integer' } }, ['person', 'faces']);

export function galleryRoutes(): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/v1/people',
      summary: 'Everyone in the gallery',
      tag: 'gallery',
      access: 'recognize',
      responses: { 200: object({ people: { type: 'array', items: person } }, ['people']) },
      async handler(ctx) {
        return { people: await ctx.gallery.people() };
      },
    },
    {
      method: 'POST',
      url: '/v1/people',
      summary: 'Enrol a person with photos (one face each) or descriptors; adds to them if they exist',
      tag: 'gallery',
      access: 'admin',
      querystring: object(optionSchemas),
      body: {
        json: object({ name: { type: 'string' }, metadata: metadataJson, ...facesJson, ...optionSchemas }, ['name']),
        multipart: object(
          {
            name: { type: 'string' },
            metadata: { type: 'string', description: 'a JSON object' },
            ...facesMultipart,
            ...optionSchemas,
          },
          ['name'],
        ),
      },
      responses: { 200: enrollment, 201: enrollment },
      async handler(ctx, request, reply) {
        const body = bodyObject(request);
        // Checked before any photo is analysed, and named as the client sent it.
        const name = checkName(body.name, 'name');
        const result = await enroll(ctx, request, name, metadataOf(body.metadata));
        void reply.status(result.created ? 201 : 200);
        return result;
      },
    },
    {
      method: 'GET',
      url: '/v1/people/:id',
      summary: 'A person and their faces',
      tag: 'gallery',
      access: 'recognize',
      params: idParams,
      responses: { 200: object({ person, faces: { type: 'array', items: face } }, ['person', 'faces']) },
      async handler(ctx, request) {
        const p = await personById(ctx, (request.params as { id: number }).id);
        return { person: p, faces: await ctx.gallery.faces(p.name) };
      },
    },
    {
      method: 'PATCH',
      url: '/v1/people/:id',
      summary: 'Rename a person and/or change their metadata (a key set to null is removed)',
      tag: 'gallery',
      access: 'admin',
      params: idParams,
      body: { json: object({ name: { type: 'string' }, metadata: metadataJson }) },
      responses: { 200: person },
      async handler(ctx, request) {
        const p = await personById(ctx, (request.params as { id: number }).id);
        const body = bodyObject(request) as { name?: string; metadata?: Record<string, unknown> };
        let current = p;
        if (body.metadata !== undefined) current = await ctx.gallery.setMetadata(current.name, body.metadata);
        if (body.name !== undefined) current = await ctx.gallery.renamePerson(current.name, body.name);
        return current;
      },
    },
    {
      method: 'DELETE',
      url: '/v1/people/:id',
      summary: 'Remove a person and all their faces',
      tag: 'gallery',
      access: 'admin',
      params: idParams,
      responses: { 200: removedPerson },
      async handler(ctx, request) {
        const p = await personById(ctx, (request.params as { id: number }).id);
        return ctx.gallery.removePerson(p.name);
      },
    },
    {
      method: 'POST',
      url: '/v1/people/:id/merge',
      summary: 'Move every face of this person to another (`into`, a person id) and remove this one',
      tag: 'gallery',
      access: 'admin',
      params: idParams,
      body: { json: object({ into: { type: 'integer', minimum: 1 } }, ['into']) },
      responses: { 200: person },
      async handler(ctx, request) {
        const from = await personById(ctx, (request.params as { id: number }).id);
        const intoId = (bodyObject(request) as { into: number }).into;
        if (intoId === from.id) throw invalidArgument('into', 'a person cannot be merged into themselves');
        const into = await ctx.store.personById(intoId);
        if (!into)
          throw new FaceKitError('PERSON_NOT_FOUND', `no person with id ${intoId} to merge into`, { field: 'into' });
        return ctx.gallery.mergePeople(from.name, into.name);
      },
    },
    {
      method: 'POST',
      url: '/v1/people/:id/faces',
      summary: 'Add photos (one face each) or descriptors to a person',
      tag: 'gallery',
      access: 'admin',
      params: idParams,
      querystring: object({ ...optionSchemas, largest: { type: 'boolean' } }),
      body: {
        json: object({ ...facesJson, ...optionSchemas }),
        multipart: object({ ...facesMultipart, ...optionSchemas }),
        raw: true,
      },
      responses: { 200: enrollment },
      async handler(ctx, request) {
        const p = await personById(ctx, (request.params as { id: number }).id);
        return enroll(ctx, request, p.name);
      },
    },
    {
      method: 'GET',
      url: '/v1/faces/:id',
      summary: 'One stored face (without its descriptor)',
      tag: 'gallery',
      access: 'recognize',
      params: idParams,
      responses: { 200: face },
      async handler(ctx, request) {
        const id = (request.params as { id: number }).id;
        const f = await ctx.store.face(id);
        if (!f) throw new FaceKitError('FACE_NOT_FOUND', `no face with id ${id} in the gallery`, { field: 'id' });
        return f;
      },
    },
    {
      method: 'DELETE',
      url: '/v1/faces/:id',
      summary: 'Remove one face (a person left with none is removed too)',
      tag: 'gallery',
      access: 'admin',
      params: idParams,
      responses: { 200: object({ removed: { type: 'integer' } }, ['removed']) },
      async handler(ctx, request) {
        return { removed: await ctx.gallery.removeFaces([(request.params as { id: number }).id]) };
      },
    },
    {
      method: 'GET',
      url: '/v1/faces/:id/thumbnail',
      summary: 'The face as a JPEG crop, stored when it was enrolled through the service',
      tag: 'gallery',
      access: 'recognize',
      params: idParams,
      responses: { 200: { contentType: 'image/jpeg', description: 'the face, at most 150 px a side' } },
      async handler(ctx, request, reply) {
        const id = (request.params as { id: number }).id;
        const jpeg = await ctx.store.thumbnail(id);
        if (!jpeg) {
          const exists = await ctx.store.face(id);
          throw new FaceKitError(
            'FACE_NOT_FOUND',
            exists
              ? `face ${id} has no thumbnail: it was not enrolled through the service`
              : `no face with id ${id} in the gallery`,
            { field: 'id' },
          );
        }
        return reply.type('image/jpeg').send(jpeg);
      },
    },
    {
      method: 'POST',
      url: '/v1/cluster',
      summary: 'Group faces of unknown people: every face of the photos, or descriptors',
      tag: 'gallery',
      access: 'recognize',
      querystring: object(optionSchemas),
      body: {
        json: object({
          images: { type: 'array', items: BASE64_IMAGE, minItems: 1 },
          descriptors,
          threshold: { type: 'number', exclusiveMinimum: 0 },
          ...optionSchemas,
        }),
        multipart: object({ image: FILES, threshold: { type: 'number', exclusiveMinimum: 0 }, ...optionSchemas }, [
          'image',
        ]),
      },
      responses: {
        200: object(
          {
            clusters: {
              type: 'array',
              items: {
                type: 'array',
                items: object({
                  image: { type: 'integer' },
                  descriptor: { type: 'integer' },
                  box,
                  score: { type: 'number' },
                }),
              },
            },
          },
          ['clusters'],
        ),
      },
      async handler(ctx, request) {
        const body = bodyObject(request);
        const photos = [
          ...photosIn(request, 'image', ctx.limits.maxImages),
          ...photosIn(request, 'images', ctx.limits.maxImages),
        ];
        const items: { ref: Record<string, unknown>; descriptor: Float32Array; photo: number }[] = [];
        for (const [i, d] of ((body.descriptors ?? []) as unknown[]).entries())
          items.push({ ref: { descriptor: i }, descriptor: descriptorOf(d, `descriptors[${i}]`), photo: -1 - i });
        const results = await analyzeAll(ctx, request, photos, false);
        for (const [image, r] of results.entries()) {
          if (r instanceof FaceKitError) throw r;
          for (const f of r.faces)
            items.push({
              ref: { image, box: f.box, score: f.score },
              descriptor: f.descriptor as Float32Array,
              photo: image,
            });
        }
        if (items.length === 0) throw invalidArgument('images', 'no face to cluster');
        const threshold = body.threshold as number | undefined;
        const groups = clusterFaces(
          items.map((it) => it.descriptor),
          { threshold, photoOf: items.map((it) => it.photo) },
        );
        return { clusters: groups.map((g) => g.map((i) => items[i].ref)) };
      },
    },
    {
      method: 'POST',
      url: '/v1/calibrate',
      summary: 'Measure and store thresholds for false-accept rates, on the gallery’s own faces',
      tag: 'gallery',
      access: 'admin',
      body: {
        json: object(
          {
            far: {
              anyOf: [
                { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 0.5 },
                { type: 'array', items: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 0.5 }, minItems: 1 },
              ],
            },
          },
          ['far'],
        ),
      },
      responses: {
        200: object({
          calibrations: {
            type: 'array',
            items: object({
              far: { type: 'number' },
              pairThreshold: { type: 'number' },
              searchThreshold: { type: 'number', nullable: true },
              people: { type: 'integer' },
              faces: { type: 'integer' },
              createdAt: { type: 'string' },
            }),
          },
        }),
      },
      async handler(ctx, request) {
        const far = bodyObject(request).far as number | number[];
        return { calibrations: await ctx.gallery.calibrate({ far }) };
      },
    },
  ];
}
