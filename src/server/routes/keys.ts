/** API keys over HTTP (admin only): the same table `facekit keys` manages. */
import { KEY_ROLES, type KeyRole } from '../../gallery/keys.js';
import type { RouteSpec } from '../context.js';
import { bodyObject } from '../input.js';
import { apiKey, idParams, object } from '../schemas.js';

export function keyRoutes(): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/v1/keys',
      summary: 'Every API key (revoked ones too), without the keys themselves',
      tag: 'keys',
      access: 'admin',
      responses: { 200: object({ keys: { type: 'array', items: apiKey } }, ['keys']) },
      async handler(ctx) {
        return { keys: await ctx.store.keys.list() };
      },
    },
    {
      method: 'POST',
      url: '/v1/keys',
      summary: 'Make a key; the answer is the only time the key is shown',
      tag: 'keys',
      access: 'admin',
      body: {
        json: object({ role: { type: 'string', enum: [...KEY_ROLES] }, name: { type: 'string', maxLength: 100 } }, [
          'role',
        ]),
      },
      responses: { 201: object({ key: { type: 'string' }, record: apiKey }, ['key', 'record']) },
      async handler(ctx, request, reply) {
        const body = bodyObject(request) as { role: KeyRole; name?: string };
        void reply.status(201);
        return ctx.store.keys.create(body.role, body.name ?? '');
      },
    },
    {
      method: 'DELETE',
      url: '/v1/keys/:id',
      summary: 'Revoke a key: it stops working at once',
      tag: 'keys',
      access: 'admin',
      params: idParams,
      responses: { 200: apiKey },
      async handler(ctx, request) {
        return ctx.store.keys.revoke((request.params as { id: number }).id);
      },
    },
  ];
}
