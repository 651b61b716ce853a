/** API keys on every route but the public ones: `Authorization: Bearer <key>` or `x-api-key: <key>`. */
import type { FastifyRequest } from 'fastify';
import { FaceKitError } from '../errors.js';
import { hashKey, type ApiKeyRecord } from '../gallery/keys.js';
import type { Access, ServiceContext } from './context.js';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The key a request carries, or null. */
export function keyOf(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const m = BEARER.exec(header);
    if (m) return m[1];
  }
  const alt = request.headers['x-api-key'];
  return typeof alt === 'string' && alt.trim() !== '' ? alt.trim() : null;
}

/**
 * The key's record when it may use a route of `access`: UNAUTHENTICATED (401) for no key or an
 * unknown or revoked one, FORBIDDEN (403) for a recognize key on an admin route. Looked up on
 * every request (one indexed SQLite read), so a revoked key stops working at once.
 */
export async function authorize(
  ctx: ServiceContext,
  request: FastifyRequest,
  access: Access,
): Promise<ApiKeyRecord | null> {
  if (access === 'public') return null;
  const key = keyOf(request);
  if (key === null)
    throw new FaceKitError(
      'UNAUTHENTICATED',
      'an API key is required: Authorization: Bearer <key> or x-api-key: <key>',
      {
        field: 'authorization',
      },
    );
  const record = await ctx.store.keys.find(hashKey(key));
  if (!record) throw new FaceKitError('UNAUTHENTICATED', 'unknown or revoked API key', { field: 'authorization' });
  if (access === 'admin' && record.role !== 'admin')
    throw new FaceKitError('FORBIDDEN', `this needs an admin key; key ${record.id} has role ${record.role}`, {
      field: 'authorization',
    });
  return record;
}
