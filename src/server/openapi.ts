/** The OpenAPI 3 document, generated from the route table: the schemas fastify validates with are the ones it shows. */
import type { RouteSpec } from './context.js';
import { isRawResponse } from './context.js';
import { errorResponse, FILE, type Schema } from './schemas.js';

/** Statuses every authenticated route can answer, beside its own. */
const COMMON_ERRORS: Readonly<Record<number, string>> = {
  400: 'invalid request (INVALID_ARGUMENT, …)',
  401: 'no API key, or an unknown or revoked one (UNAUTHENTICATED)',
  403: 'the key’s role may not do this (FORBIDDEN)',
  500: 'a bug (INTERNAL)',
};
const PHOTO_ERRORS: Readonly<Record<number, string>> = {
  413: 'body or photo too large (PAYLOAD_TOO_LARGE, IMAGE_TOO_LARGE)',
  415: 'not a photo, or a media type the route does not take',
  422: 'no face / several faces where one was needed',
  503: 'busy (queue full), timed out or shutting down; see Retry-After',
};
const NOT_FOUND = 'no such person, face or key (…_NOT_FOUND)';

/** Multipart file parts become binary strings; everything else is copied as it is. */
function forDocument(schema: unknown): unknown {
  if (schema === FILE) return { type: 'string', format: 'binary', description: FILE.description };
  if (Array.isArray(schema)) return schema.map(forDocument);
  if (typeof schema === 'object' && schema !== null)
    return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, forDocument(v)]));
  return schema;
}

const openApiPath = (url: string): string => url.replace(/:(\w+)/g, '{$1}');

function parameters(route: RouteSpec): Schema[] {
  const out: Schema[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.querystring],
  ] as const) {
    const props = (schema?.properties ?? {}) as Record<string, Schema>;
    const required = new Set((schema?.required ?? []) as string[]);
    for (const [name, s] of Object.entries(props))
      out.push({ name, in: where, required: where === 'path' || required.has(name), schema: forDocument(s) });
  }
  return out;
}

function requestBody(route: RouteSpec): Schema | undefined {
  const b = route.body;
  if (!b) return undefined;
  const content: Record<string, unknown> = {};
  if (b.json) content['application/json'] = { schema: forDocument(b.json) };
  if (b.multipart) content['multipart/form-data'] = { schema: forDocument(b.multipart) };
  if (b.raw) {
    const binary = { schema: { type: 'string', format: 'binary' } };
    content['image/*'] = binary;
    content['application/octet-stream'] = binary;
  }
  return { required: true, content };
}

function responses(route: RouteSpec): Schema {
  const out: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(route.responses)) {
    out[status] = isRawResponse(r)
      ? { description: r.description, content: { [r.contentType]: { schema: { type: 'string', format: 'binary' } } } }
      : { description: 'success', content: { 'application/json': { schema: forDocument(r) } } };
  }
  const error = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const errors: Record<number, string> = route.access === 'public' ? {} : { ...COMMON_ERRORS };
  if (route.body) Object.assign(errors, PHOTO_ERRORS);
  if (route.params) errors[404] = NOT_FOUND;
  for (const [status, description] of Object.entries(errors)) out[status] ??= { description, ...error };
  return out;
}

export function openApiDocument(routes: readonly RouteSpec[], version: string): Schema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(route.url);
    paths[path] ??= {};
    const body = requestBody(route);
    const params = parameters(route);
    paths[path][route.method.toLowerCase()] = {
      summary: route.summary,
      tags: [route.tag],
      operationId: `${route.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/\/(\w)/g, (_, c: string) => c.toUpperCase())}`,
      ...(route.access === 'public' ? { security: [] } : { 'x-role': route.access }),
      ...(params.length > 0 ? { parameters: params } : {}),
      ...(body ? { requestBody: body } : {}),
      responses: responses(route),
    };
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'facekit',
      version,
      description:
        'Face detection and recognition with a gallery of known people. Every route but the health checks needs an API key (`facekit keys create`): `Authorization: Bearer <key>` or `x-api-key: <key>`. Role `recognize`: recognition and reads; `admin`: everything.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { apiKey: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      },
      schemas: { Error: forDocument(errorResponse) },
    },
    paths,
  };
}
