/** Health checks, metrics, the OpenAPI document and the docs page. */
import type { RouteSpec } from '../context.js';
import { DOCS_HTML } from '../docs.js';
import { object } from '../schemas.js';

const readiness = object(
  {
    ready: { type: 'boolean' },
    workers: { type: 'integer' },
    embedder: {
      type: 'string',
      description: "model id of the descriptors this service makes and searches, e.g. 'dlib_resnet128'",
    },
  },
  ['ready', 'workers', 'embedder'],
);

export function systemRoutes(openApi: () => unknown): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/healthz',
      summary: 'Liveness: the process answers',
      tag: 'system',
      access: 'public',
      responses: { 200: object({ status: { type: 'string', enum: ['ok'] } }, ['status']) },
      async handler() {
        return { status: 'ok' };
      },
    },
    {
      method: 'GET',
      url: '/readyz',
      summary: 'Readiness: models built and every inference worker loaded (503 until then)',
      tag: 'system',
      access: 'public',
      responses: { 200: readiness, 503: readiness },
      async handler(ctx, _request, reply) {
        const ready = ctx.pool.ready;
        void reply.status(ready ? 200 : 503);
        return { ready, workers: ctx.pool.workers, embedder: ctx.gallery.modelId };
      },
    },
    {
      method: 'GET',
      url: '/metrics',
      summary: 'Prometheus metrics: requests and latency by route, queue depth, time per stage, gallery size',
      tag: 'system',
      access: 'recognize',
      responses: { 200: { contentType: 'text/plain; version=0.0.4', description: 'Prometheus text format' } },
      async handler(ctx, _request, reply) {
        ctx.metrics.gallery = await ctx.store.stats();
        return reply.type('text/plain; version=0.0.4; charset=utf-8').send(ctx.metrics.registry.render());
      },
    },
    {
      method: 'GET',
      url: '/openapi.json',
      summary: 'This API as an OpenAPI 3 document',
      tag: 'system',
      access: 'recognize',
      responses: { 200: { contentType: 'application/json', description: 'OpenAPI 3.0 document' } },
      async handler(_ctx, _request, reply) {
        return reply.type('application/json').send(JSON.stringify(openApi()));
      },
    },
    {
      method: 'GET',
      url: '/docs',
      summary: 'The API documentation page (served locally; the document itself is fetched with your key)',
      tag: 'system',
      access: 'public',
      responses: { 200: { contentType: 'text/html', description: 'HTML page' } },
      async handler(_ctx, _request, reply) {
        return reply.type('text/html; charset=utf-8').send(DOCS_HTML);
      },
    },
  ];
}
