/** What every route handler works with, and how routes are declared (one table drives fastify and OpenAPI). */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Gallery } from '../gallery/gallery.js';
import type { ServiceStore } from '../gallery/store.js';
import type { InferencePool } from './inference.js';
import type { RecognitionOptions, ServeLimits } from './limits.js';
import type { ServiceMetrics } from './metrics.js';
import type { Schema } from './schemas.js';

export interface ServiceContext {
  readonly gallery: Gallery;
  readonly store: ServiceStore;
  readonly pool: InferencePool;
  readonly limits: ServeLimits;
  /** Pipeline settings a request gets unless it chooses others. */
  readonly defaults: RecognitionOptions;
  readonly metrics: ServiceMetrics;
}

/** public: anyone (health checks, the docs page); recognize: recognition and reads; admin: everything. */
export type Access = 'public' | 'recognize' | 'admin';

export interface RouteBody {
  /** application/json */
  readonly json?: Schema;
  /** multipart/form-data: photos as file parts, other fields as text */
  readonly multipart?: Schema;
  /** The photo itself as the body (image/*, application/octet-stream); options in the query string. */
  readonly raw?: boolean;
}

/** A response that is not JSON: its media type and what it is. */
export interface RawResponse {
  readonly contentType: string;
  readonly description: string;
}

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Fastify's pattern, e.g. /v1/people/:id */
  readonly url: string;
  readonly summary: string;
  readonly tag: string;
  readonly access: Access;
  readonly params?: Schema;
  readonly querystring?: Schema;
  readonly body?: RouteBody;
  /** JSON schemas by status; error statuses are added for every route. */
  readonly responses: Readonly<Record<number, Schema | RawResponse>>;
  readonly handler: (ctx: ServiceContext, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

export const isRawResponse = (r: Schema | RawResponse): r is RawResponse =>
  typeof (r as RawResponse).contentType === 'string';
