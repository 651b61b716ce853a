/** A service on a temporary gallery with one admin and one recognize key, for the server tests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { openSqliteStore } from '../../src/gallery/sqlite.js';
import { createService, type ServeOptions, type Service } from '../../src/server/index.js';
import { samplePath } from '../helpers/photos.js';
import { tempDir } from '../helpers/temp.js';

export interface TestService {
  readonly service: Service;
  readonly db: string;
  readonly admin: Record<string, string>;
  readonly recognize: Record<string, string>;
  /** fastify's inject, with a key's headers. */
  call(
    method: string,
    url: string,
    options?: { headers?: Record<string, string>; payload?: unknown; key?: Record<string, string> },
  ): Promise<LightMyRequestResponse>;
}

export async function startService(options: Partial<ServeOptions> = {}): Promise<TestService> {
  const db = join(tempDir('facekit-serve-'), 'gallery.db');
  const store = openSqliteStore(db);
  const admin = (await store.keys.create('admin', 'test admin')).key;
  const recognize = (await store.keys.create('recognize', 'test client')).key;
  await store.close();
  const service = await createService({ db, ...options, limits: { workers: 1, ...options.limits } });
  await service.ready;
  const adminHeaders = { authorization: `Bearer ${admin}` };
  return {
    service,
    db,
    admin: adminHeaders,
    recognize: { 'x-api-key': recognize },
    call: (method, url, o = {}) =>
      service.app.inject({
        method: method as 'GET',
        url,
        headers: { ...(o.key ?? adminHeaders), ...o.headers },
        ...(o.payload === undefined ? {} : { payload: o.payload as string }),
      }),
  };
}

export const sample = (n: number): Buffer => readFileSync(samplePath(n));
export const jpegHeaders = { 'content-type': 'image/jpeg' };

/** A multipart/form-data body built by the platform's FormData, as a browser or fetch sends it. */
export async function multipart(
  fields: Record<string, string | Buffer | Buffer[]>,
): Promise<{ headers: Record<string, string>; payload: Buffer }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    const list = Array.isArray(value) ? value : [value];
    list.forEach((v, i) => {
      if (typeof v === 'string') form.append(name, v);
      else form.append(name, new Blob([new Uint8Array(v)], { type: 'image/jpeg' }), `${name}${i + 1}.jpg`);
    });
  }
  const request = new Request('http://127.0.0.1/', { method: 'POST', body: form });
  return {
    headers: { 'content-type': request.headers.get('content-type') as string },
    payload: Buffer.from(await request.arrayBuffer()),
  };
}
