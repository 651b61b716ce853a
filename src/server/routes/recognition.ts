/** POST /v1/detect, /v1/encode, /v1/verify, /v1/identify. */
import { FaceKitError, invalidArgument } from '../../errors.js';
import { verifyDescriptors } from '../../match/verify.js';
import type { RouteSpec, ServiceContext } from '../context.js';
import type { PhotoFace, Task } from '../inference-protocol.js';
import {
  analyzePhoto,
  bodyObject,
  descriptorOf,
  fromBase64,
  isFilePart,
  onePhoto,
  plainDescriptor,
  recognitionOptions,
  type Photo,
} from '../input.js';
import { largestFace } from '../pipeline.js';
import {
  analyzedFace,
  BASE64_IMAGE,
  box,
  descriptor,
  descriptors,
  detectedFace,
  FILE,
  identification,
  identifyOptions,
  object,
  photoOf,
  recognitionOptions as optionSchemas,
  type Schema,
  thresholdOptions,
} from '../schemas.js';
import type { FastifyRequest } from 'fastify';

const photoBody = {
  json: object({ image: BASE64_IMAGE, ...optionSchemas }, ['image']),
  multipart: object({ image: FILE, ...optionSchemas }, ['image']),
  raw: true,
} as const;

function requirePhoto(request: FastifyRequest, field = 'image'): Photo {
  const photo = onePhoto(request, field);
  if (!photo) throw invalidArgument(field, 'no photo: send it as a multipart file part, the raw body, or base64 JSON');
  return photo;
}

const plainFace = (f: PhotoFace) => ({
  box: f.box,
  score: f.score,
  ...(f.landmarks ? { landmarks: f.landmarks } : {}),
  ...(f.landmarks5 ? { landmarks5: f.landmarks5 } : {}),
  ...(f.descriptor ? { descriptor: plainDescriptor(f.descriptor) } : {}),
});

/** A verify side: a photo (its largest face) or a descriptor. */
async function side(
  ctx: ServiceContext,
  request: FastifyRequest,
  field: 'a' | 'b',
): Promise<{ descriptor: Float32Array; box: PhotoFace['box'] | null }> {
  const value = bodyObject(request)[field];
  let photo: Photo;
  if (isFilePart(value)) {
    photo = { name: field, bytes: value.bytes };
  } else {
    const given = (value ?? {}) as { image?: string; descriptor?: unknown };
    if ((given.image === undefined) === (given.descriptor === undefined))
      throw invalidArgument(field, 'give one of { image } (a base64 photo) and { descriptor }');
    if (given.descriptor !== undefined)
      return { descriptor: descriptorOf(given.descriptor, `${field}.descriptor`), box: null };
    photo = { name: `${field}.image`, bytes: fromBase64(given.image as string, `${field}.image`) };
  }
  const result = await analyzePhoto(ctx, request, photo, 'analyze', recognitionOptions(request, ctx));
  if (result.faces.length === 0) throw new FaceKitError('NO_FACE', `${field}: no face found in the photo`, { field });
  const face = largestFace(result.faces);
  return { descriptor: face.descriptor as Float32Array, box: face.box };
}

const verifySide: Schema = {
  type: 'object',
  properties: { image: BASE64_IMAGE, descriptor },
  additionalProperties: false,
  description: 'a photo (its largest face is compared) or a descriptor',
};

/** detect and encode: one photo in, its faces out, as far down the pipeline as `task` goes. */
function photoRoute(url: string, summary: string, task: Task, faceSchema: Schema): RouteSpec {
  return {
    method: 'POST',
    url,
    summary,
    tag: 'recognition',
    access: 'recognize',
    querystring: object(optionSchemas),
    body: photoBody,
    responses: { 200: photoOf(faceSchema) },
    async handler(ctx, request) {
      const r = await analyzePhoto(ctx, request, requirePhoto(request), task, recognitionOptions(request, ctx));
      return { width: r.width, height: r.height, faces: r.faces.map(plainFace) };
    },
  };
}

export function recognitionRoutes(): RouteSpec[] {
  return [
    photoRoute('/v1/detect', 'Find faces: boxes and scores (MTCNN adds five landmarks)', 'detect', detectedFace),
    photoRoute('/v1/encode', 'Find faces and compute their landmarks and descriptors', 'analyze', analyzedFace),
    {
      method: 'POST',
      url: '/v1/verify',
      summary: 'Same person or not: the largest face of each photo, or two descriptors',
      tag: 'recognition',
      access: 'recognize',
      querystring: object({ ...optionSchemas, ...thresholdOptions }),
      body: {
        json: object({ a: verifySide, b: verifySide, ...optionSchemas, ...thresholdOptions }, ['a', 'b']),
        multipart: object({ a: FILE, b: FILE, ...optionSchemas, ...thresholdOptions }, ['a', 'b']),
      },
      responses: {
        200: object(
          {
            same: { type: 'boolean' },
            distance: { type: 'number' },
            threshold: { type: 'number' },
            thresholdSource: { type: 'string', enum: ['option', 'calibration', 'default'] },
            far: { type: 'number', nullable: true },
            confidence: { type: 'number', nullable: true },
            a: object({ box: { ...box, nullable: true } }),
            b: object({ box: { ...box, nullable: true } }),
          },
          ['same', 'distance', 'threshold', 'thresholdSource'],
        ),
      },
      async handler(ctx, request) {
        const o = { ...(request.query as Record<string, unknown>), ...bodyObject(request) } as {
          threshold?: number;
          far?: number;
        };
        const threshold = await ctx.gallery.threshold({ threshold: o.threshold, far: o.far }, 'pair');
        const [a, b] = await Promise.all([side(ctx, request, 'a'), side(ctx, request, 'b')]);
        const v = verifyDescriptors(a.descriptor, b.descriptor, threshold);
        return { ...v, a: { box: a.box }, b: { box: b.box } };
      },
    },
    {
      method: 'POST',
      url: '/v1/identify',
      summary: 'Who is in the photo (every face), or who each descriptor is, against the gallery',
      tag: 'recognition',
      access: 'recognize',
      querystring: object({ ...optionSchemas, ...identifyOptions }),
      body: {
        json: object({ image: BASE64_IMAGE, descriptors, ...optionSchemas, ...identifyOptions }),
        multipart: object({ image: FILE, ...optionSchemas, ...identifyOptions }, ['image']),
        raw: true,
      },
      responses: {
        200: object(
          { width: { type: 'integer' }, height: { type: 'integer' }, faces: { type: 'array', items: identification } },
          ['faces'],
        ),
      },
      async handler(ctx, request) {
        const body = bodyObject(request);
        const o = { ...(request.query as Record<string, unknown>), ...body } as {
          threshold?: number;
          far?: number;
          k?: number;
          aggregate?: 'best' | 'mean' | 'vote';
        };
        const options = { threshold: o.threshold, far: o.far, k: o.k, aggregate: o.aggregate };
        const search = async (queries: Float32Array[]) => {
          const start = performance.now();
          const found = await ctx.gallery.identify(queries, options);
          ctx.metrics.stages.observe({ stage: 'search' }, (performance.now() - start) / 1000);
          return found;
        };
        if (body.descriptors !== undefined) {
          if (body.image !== undefined) throw invalidArgument('descriptors', 'give an image or descriptors, not both');
          const queries = (body.descriptors as unknown[]).map((d, i) => descriptorOf(d, `descriptors[${i}]`));
          const found = await search(queries);
          return { faces: found.map((f) => ({ box: null, score: null, ...f })) };
        }
        const r = await analyzePhoto(ctx, request, requirePhoto(request), 'analyze', recognitionOptions(request, ctx));
        const found = r.faces.length === 0 ? [] : await search(r.faces.map((f) => f.descriptor as Float32Array));
        return {
          width: r.width,
          height: r.height,
          faces: found.map((f, i) => ({ box: r.faces[i].box, score: r.faces[i].score, ...f })),
        };
      },
    },
  ];
}
