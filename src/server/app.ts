/**
 * The HTTP service: fastify with the route table (routes/*), API keys, limits, metrics and the
 * OpenAPI document, over one gallery file and a pool of inference workers.
 */
import { createRequire } from 'node:module';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyRequest, type RouteOptions } from 'fastify';
import type { DetectorName } from '../detect/registry.js';
import { FaceKitError } from '../errors.js';
import { openGallery, type Gallery } from '../gallery/gallery.js';
import { openStore } from '../gallery/open-store.js';
import type { ServiceStore } from '../gallery/store.js';
import type { Precision } from '../models/registry.js';
import { authorize } from './auth.js';
import { isRawResponse, type RouteBody, type RouteSpec, type ServiceContext } from './context.js';
import { sendError } from './errors.js';
import { clientGone } from './input.js';
import { InferencePool } from './inference.js';
import { checkLimits, defaultLimits, defaultRecognition, type ServeLimits } from './limits.js';
import { serviceMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { DEFAULT_DETECTOR, DEFAULT_EMBEDDER, embedderEntry, ensureModels, requiredModels } from './pipeline.js';
import { galleryRoutes } from './routes/gallery.js';
import { keyRoutes } from './routes/keys.js';
import { photoIndexRoutes } from './routes/photo-index.js';
import { recognitionRoutes } from './routes/recognition.js';
import { systemRoutes } from './routes/system.js';
import { webappRoutes } from './routes/webapp.js';
import { errorResponse } from './schemas.js';

export interface ServeOptions {
  /** The gallery file (created when missing); its key table holds the API keys. */
  readonly db: string;
  readonly limits?: Partial<ServeLimits>;
  /** Pipeline settings a request gets unless it picks others. */
  readonly detector?: DetectorName;
  readonly precision?: Precision;
  readonly minConfidence?: number;
  /**
   * The embedder every photo is encoded with: 'dlib128' (default) or the name of one `facekit
   * train` saved in the model cache. The gallery must hold that embedder's descriptors (a gallery
   * enrolled with another one is refused with MODEL_MISMATCH); a new gallery records it.
   */
  readonly embedder?: string;
  /** Allowed browser origin ('*' for any); CORS stays off without it. */
  readonly cors?: string;
  /** Fastify's request log (JSON lines on stdout). */
  readonly logger?: boolean;
  /** Progress notes (model builds). */
  readonly onNote?: (message: string) => void;
}

export interface Service {
  readonly app: FastifyInstance;
  readonly context: ServiceContext;
  /** Resolves when every inference worker has loaded its models (what /readyz reports). */
  readonly ready: Promise<void>;
  /** Starts listening; resolves to the address, e.g. http://127.0.0.1:8080. */
  listen(host: string, port: number): Promise<string>;
  /** Stops taking requests, lets those in flight finish (and commit), then closes the workers and the gallery. */
  close(): Promise<void>;
}

/** Media types a photo may come as the raw body. */
const RAW_TYPES = [/^image\/[\w.+-]+$/, 'application/octet-stream'];

function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Which of a route's body kinds a request's content-type is. */
function bodyKind(request: FastifyRequest): keyof RouteBody | null {
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === '') return null;
  if (type === 'application/json') return 'json';
  if (type === 'multipart/form-data') return 'multipart';
  return RAW_TYPES.some((t) => (typeof t === 'string' ? t === type : t.test(type))) ? 'raw' : null;
}

function describeBody(body: RouteBody): string {
  const kinds = [
    body.json ? 'application/json' : null,
    body.multipart ? 'multipart/form-data' : null,
    body.raw ? 'the photo itself (image/*)' : null,
  ].filter((k) => k !== null);
  return kinds.join(', ');
}

function fastifyRoute(ctx: ServiceContext, route: RouteSpec): RouteOptions {
  const response: Record<string, unknown> = { '4xx': errorResponse, '5xx': errorResponse };
  for (const [status, r] of Object.entries(route.responses)) if (!isRawResponse(r)) response[status] = r;
  const content: Record<string, { schema: unknown }> = {};
  if (route.body?.json) content['application/json'] = { schema: route.body.json };
  if (route.body?.multipart) content['multipart/form-data'] = { schema: route.body.multipart };
  return {
    method: route.method,
    url: route.url,
    config: { access: route.access } as RouteOptions['config'],
    schema: {
      ...(route.params ? { params: route.params } : {}),
      ...(route.querystring ? { querystring: route.querystring } : {}),
      ...(Object.keys(content).length > 0 ? { body: { content } } : {}),
      response,
    },
    // Before the body is read: a media type the route does not take is refused without parsing it.
    preParsing: async (request, _reply, payload) => {
      const length = Number(request.headers['content-length'] ?? 0);
      const kind = bodyKind(request);
      const hasBody = kind !== null || length > 0 || request.headers['transfer-encoding'] !== undefined;
      if (hasBody && (!route.body || kind === null || !route.body[kind]))
        throw new FaceKitError(
          'UNSUPPORTED_MEDIA_TYPE',
          route.body
            ? `${route.method} ${route.url} takes ${describeBody(route.body)}; got ${request.headers['content-type'] ?? 'no content-type'}`
            : `${route.method} ${route.url} takes no body`,
          { field: 'content-type' },
        );
      return payload;
    },
    handler: (request, reply) => route.handler(ctx, request, reply),
  };
}

/** Opens the gallery, builds the models if needed, starts the workers (in the background) and wires every route. */
export async function createService(options: ServeOptions): Promise<Service> {
  const limits = checkLimits({ ...defaultLimits(options.limits?.workers), ...options.limits });
  const defaults = defaultRecognition({ ...options, detector: options.detector ?? DEFAULT_DETECTOR }, limits.maxFaces);
  // Resolved before anything opens: an unknown name fails here, naming the embedders there are.
  const embedder = embedderEntry(options.embedder ?? DEFAULT_EMBEDDER, 'embedder');
  // A PostgreSQL gallery is followed as other instances write it: each enrolment anywhere is searched here.
  const store: ServiceStore = await openStore(options.db, { follow: true, onNote: options.onNote });
  let gallery: Gallery;
  try {
    // Descriptors of one embedder only: searching another's would compare unrelated spaces.
    gallery = await openGallery({
      store,
      modelId: embedder.modelId,
      matchThreshold: embedder.thresholds.match,
      onNote: options.onNote,
    });
    // The whole retry chain's detectors: enrolment retries a miss with the others.
    const say = options.onNote ?? (() => undefined);
    await ensureModels(
      requiredModels({ detector: defaults.detector, stage: 'analyze', precision: defaults.precision }),
      say,
      say,
    );
  } catch (e) {
    await store.close();
    throw e;
  }
  const metricsRef: { current?: ReturnType<typeof serviceMetrics> } = {};
  const pool = new InferencePool(
    limits,
    { warm: defaults, embedder: embedder.name },
    {
      onStages: (stages) => {
        for (const [stage, ms] of Object.entries(stages))
          metricsRef.current?.stages.observe({ stage }, (ms ?? 0) / 1000);
      },
      onRejected: () => metricsRef.current?.rejected.inc(),
    },
  );
  const metrics = serviceMetrics(pool);
  metricsRef.current = metrics;
  const ctx: ServiceContext = { gallery, store, pool, limits, defaults, metrics };
  const ready = pool.start();
  // Failures show in /readyz and in every inference request; nobody need await this.
  ready.catch(() => undefined);

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: limits.maxBodyBytes,
    requestTimeout: limits.timeoutMs,
    return503OnClosing: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  });
  for (const type of RAW_TYPES)
    app.addContentTypeParser(type, { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  await app.register(multipart, {
    attachFieldsToBody: 'keyValues',
    limits: { fileSize: limits.maxBodyBytes, files: limits.maxImages, fields: 50, fieldSize: 1024 * 1024 },
    async onFile(part) {
      const bytes = await part.toBuffer();
      // The whole upload counts against the body limit, not only each file.
      const request = this as FastifyRequest & { uploaded?: number };
      request.uploaded = (request.uploaded ?? 0) + bytes.length;
      if (request.uploaded > limits.maxBodyBytes)
        throw new FaceKitError('PAYLOAD_TOO_LARGE', `body: the upload passes ${limits.maxBodyBytes} bytes`, {
          field: 'body',
        });
      (part as unknown as { value: unknown }).value = { bytes, filename: part.filename };
    },
  });

  app.setErrorHandler((error, request, reply) => sendError(error, request, reply, () => pool.retryAfterSeconds()));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      new FaceKitError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
      request,
      reply,
      () => 1,
    ),
  );

  if (options.cors !== undefined) {
    const allowed = options.cors;
    app.addHook('onRequest', async (request, reply) => {
      const origin = request.headers.origin;
      if (origin === undefined || (allowed !== '*' && origin !== allowed)) return;
      void reply.header('access-control-allow-origin', allowed === '*' ? '*' : origin).header('vary', 'origin');
      if (request.method === 'OPTIONS') {
        void reply
          .header('access-control-allow-methods', 'GET, POST, PATCH, DELETE')
          .header('access-control-allow-headers', 'authorization, x-api-key, content-type')
          .header('access-control-max-age', '600');
      }
    });
    app.options('*', async (_request, reply) => reply.status(204).send());
  }

  app.addHook('onRequest', async (request, reply) => {
    const gone = new AbortController();
    clientGone.set(request, gone.signal);
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) gone.abort();
    });
    const access = (request.routeOptions.config as { access?: RouteSpec['access'] } | undefined)?.access;
    if (access !== undefined) await authorize(ctx, request, access);
    // A photo upload (raw or multipart) to a full queue is refused before its body is read: under
    // overload, reading and parsing bodies only to refuse them took CPU from the workers.
    const kind = bodyKind(request);
    if (pool.saturated && (kind === 'raw' || kind === 'multipart') && request.method === 'POST') await pool.refuse();
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.latency.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });

  const routes: RouteSpec[] = [];
  const document = () => openApiDocument(routes, packageVersion());
  routes.push(
    ...systemRoutes(document),
    ...recognitionRoutes(),
    ...photoIndexRoutes(),
    ...galleryRoutes(),
    ...keyRoutes(),
    ...webappRoutes(),
  );
  for (const route of routes) app.route(fastifyRoute(ctx, route));

  let closing: Promise<void> | undefined;
  return {
    app,
    context: ctx,
    ready,
    async listen(host, port) {
      return app.listen({ host, port });
    },
    close() {
      closing ??= (async () => {
        await app.close();
        await pool.close();
        await gallery.close();
        await store.close();
      })();
      return closing;
    },
  };
}
