/** POST /v1/index/search: the indexed photos (`facekit index`) where a face or a person appears. */
import { FaceKitError, invalidArgument } from '../../errors.js';
import type { IndexSearch } from '../../entry/gallery.js';
import type { Box } from '../../types.js';
import type { RouteSpec } from '../context.js';
import { analyzePhoto, bodyObject, descriptorOf, onePhoto, recognitionOptions } from '../input.js';
import { largestFace } from '../pipeline.js';
import {
  BASE64_IMAGE,
  box,
  descriptor,
  FILE,
  object,
  recognitionOptions as optionSchemas,
  type Schema,
  thresholdOptions,
} from '../schemas.js';

const searchOptions: Record<string, Schema> = {
  ...thresholdOptions,
  limit: { type: 'integer', minimum: 1, maximum: 10_000, description: 'most photos listed (100)' },
};
const person: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: 200,
  description: 'an enrolled person: every face of theirs is searched for',
};

const indexMatch = object(
  {
    file: { type: 'string', description: 'the photo as it was indexed' },
    contentHash: { type: 'string' },
    photoId: { type: 'integer' },
    faceId: { type: 'integer' },
    face: { type: 'integer', description: "the face's number in the photo (1-based)" },
    box,
    score: { type: 'number', description: 'detector score' },
    distance: { type: 'number' },
  },
  ['file', 'face', 'box', 'distance'],
);

export function photoIndexRoutes(): RouteSpec[] {
  return [
    {
      method: 'POST',
      url: '/v1/index/search',
      summary:
        'The indexed photos where a face (a photo’s largest, or a descriptor) or an enrolled person appears, closest first',
      tag: 'recognition',
      access: 'recognize',
      querystring: object({ ...optionSchemas, ...searchOptions }),
      body: {
        json: object({ image: BASE64_IMAGE, descriptor, person, ...optionSchemas, ...searchOptions }),
        multipart: object({ image: FILE, ...optionSchemas, ...searchOptions }, ['image']),
        raw: true,
      },
      responses: {
        200: object(
          {
            matches: { type: 'array', items: indexMatch },
            threshold: { type: 'number' },
            thresholdSource: { type: 'string', enum: ['option', 'calibration', 'builtin', 'default'] },
            far: { type: 'number', nullable: true },
            faces: { type: 'integer', description: 'indexed faces searched' },
            photos: { type: 'integer', description: 'indexed photos holding them' },
            queryBox: { ...box, nullable: true },
          },
          ['matches', 'threshold', 'thresholdSource'],
        ),
      },
      async handler(ctx, request) {
        const body = bodyObject(request);
        const o = { ...(request.query as Record<string, unknown>), ...body } as {
          threshold?: number;
          far?: number;
          limit?: number;
        };
        const options = { threshold: o.threshold, far: o.far, limit: o.limit };
        const photo = body.descriptor === undefined && body.person === undefined ? onePhoto(request, 'image') : null;
        const given = [photo ?? body.image, body.descriptor, body.person].filter((v) => v !== undefined && v !== null);
        if (given.length !== 1) throw invalidArgument('image', 'give one of: a photo (image), a descriptor, a person');
        let queryBox: Box | null = null;
        let found: IndexSearch;
        if (body.person !== undefined) found = await ctx.gallery.searchIndexForPerson(body.person as string, options);
        else if (body.descriptor !== undefined)
          found = await ctx.gallery.searchIndex([descriptorOf(body.descriptor, 'descriptor')], options);
        else {
          const r = await analyzePhoto(
            ctx,
            request,
            photo as NonNullable<typeof photo>,
            'analyze',
            recognitionOptions(request, ctx),
          );
          if (r.faces.length === 0)
            throw new FaceKitError('NO_FACE', 'image: no face found in the photo', { field: 'image' });
          const face = largestFace(r.faces);
          queryBox = face.box;
          found = await ctx.gallery.searchIndex([face.descriptor as Float32Array], options);
        }
        return {
          matches: found.matches.map((m) => ({
            file: m.sourceFile,
            contentHash: m.contentHash,
            photoId: m.photoId,
            faceId: m.faceId,
            face: m.faceNumber,
            box: m.box,
            score: m.score,
            distance: m.distance,
          })),
          threshold: found.threshold.value,
          thresholdSource: found.threshold.source,
          far: found.threshold.far,
          faces: found.faces,
          photos: found.photos,
          queryBox,
        };
      },
    },
  ];
}
