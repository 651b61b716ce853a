/**
 * The web app (built by Vite into dist/webapp/ at `npm install`/`npm run build`) and the models
 * the browser runs (facekit/browser fetches them here). Both are public: the page holds no data
 * and asks for the API key itself; the models are built from public npm weights.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaceKitError } from '../../errors.js';
import { tunedPaths } from '../../embed/tuned.js';
import { defaultCacheDir, inspectModel, loadModelBytes } from '../../models/cache.js';
import type { ModelId } from '../../models/registry.js';
import type { FastifyReply } from 'fastify';
import type { RouteSpec } from '../context.js';

/** The networks facekit/browser opens (dlib's CNN stays on the server). */
export const BROWSER_MODELS: readonly ModelId[] = [
  'tiny_face_detector',
  'ssd_mobilenetv1',
  'ssd_mobilenetv1_int8',
  'mtcnn_pnet',
  'mtcnn_rnet',
  'mtcnn_onet',
  'face_landmark_68',
  'face_landmark_68_tiny',
  'dlib_resnet128',
  'dlib_resnet128_int8',
];

/**
 * Models /models/index.json never builds: an int8 build calibrates on the fp32 pipeline (seconds
 * of CPU each), and most pages never ask for one. The index lists such a model's hash once it is
 * in the model cache, else `{ onRequest: true }`; its first GET /models/<id>.onnx builds it.
 */
export const BUILT_ON_REQUEST: readonly ModelId[] = ['ssd_mobilenetv1_int8', 'dlib_resnet128_int8'];

/** One model's line in /models/index.json. */
export type ModelIndexEntry = { readonly sha256: string; readonly bytes: number } | { readonly onRequest: true };

/** dist/webapp: three levels up from this module in src/server/routes/ and dist/server/routes/ alike. */
export const WEBAPP_DIR = fileURLToPath(new URL('../../../dist/webapp/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

/**
 * Cross-origin isolation: without it browsers give no SharedArrayBuffer, and onnxruntime-web runs
 * on one thread. Everything the page loads is same-origin, so isolating costs it nothing.
 */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  // credentialless, not require-corp: the Streams page shows `facekit watch --serve` viewers (another port, no CORP header) in <img>.
  'cross-origin-embedder-policy': 'credentialless',
  'cross-origin-resource-policy': 'same-origin',
} as const;

interface ModelFile {
  readonly bytes: Uint8Array;
  readonly sha256: string;
}

/** A model's bytes and hash (built when missing), and `ifBuilt`: the same only when nothing must be built. */
export interface ModelFiles {
  (id: ModelId): Promise<ModelFile>;
  ifBuilt(id: ModelId): Promise<ModelFile | undefined>;
}

/** Each model's bytes and hash, read (built on first use) once per process: a cache file does not change under a running server. */
export function modelFiles(cacheDir?: string): ModelFiles {
  const memo = new Map<ModelId, Promise<ModelFile>>();
  const remember = (id: ModelId, bytes: Promise<Uint8Array>): Promise<ModelFile> => {
    const file = bytes.then((b) => ({ bytes: b, sha256: createHash('sha256').update(b).digest('hex') }));
    file.catch(() => memo.delete(id));
    memo.set(id, file);
    return file;
  };
  const files = (id: ModelId) => memo.get(id) ?? remember(id, loadModelBytes(id, cacheDir));
  files.ifBuilt = async (id: ModelId) => {
    const known = memo.get(id);
    if (known) return known;
    // A build in flight elsewhere (another process) is not 'ready' yet: listed on request until it is.
    const info = await inspectModel(id, cacheDir);
    return info.state === 'ready' && info.bytes ? remember(id, Promise.resolve(info.bytes)) : undefined;
  };
  return files;
}

/** /models/index.json's content: every browser model's hash and size, building only what is not built on request. */
export async function modelIndex(models: ModelFiles): Promise<Record<string, ModelIndexEntry>> {
  const entries = await Promise.all(
    BROWSER_MODELS.map(async (id): Promise<[string, ModelIndexEntry]> => {
      const file = BUILT_ON_REQUEST.includes(id) ? await models.ifBuilt(id) : await models(id);
      return [id, file ? { sha256: file.sha256, bytes: file.bytes.length } : { onRequest: true }];
    }),
  );
  return Object.fromEntries(entries);
}

/** Sends a file of the built web app with the isolation headers the threaded WebAssembly needs. */
async function sendWebappFile(reply: FastifyReply, relative: string, cacheControl: string): Promise<FastifyReply> {
  const { body, type } = await webappFile(relative);
  return reply
    .headers({ ...ISOLATION_HEADERS, 'cache-control': cacheControl })
    .type(type)
    .send(body);
}

async function webappFile(relative: string): Promise<{ body: Buffer; type: string }> {
  const path = normalize(join(WEBAPP_DIR, relative));
  if (!path.startsWith(WEBAPP_DIR) || relative.split('/').includes('..') || path.endsWith(sep))
    throw new FaceKitError('NOT_FOUND', `no file ${relative} in the web app`);
  try {
    return { body: await readFile(path), type: TYPES[extname(path)] ?? 'application/octet-stream' };
  } catch (cause) {
    if (relative === 'index.html')
      throw new FaceKitError(
        'NOT_FOUND',
        `the web app is not built (no ${path}): run \`npm run build\` in the facekit folder`,
        { cause },
      );
    throw new FaceKitError('NOT_FOUND', `no file ${relative} in the web app`, { cause });
  }
}

/**
 * `models`: the built networks; `modelsDir`: the folder whose embedders/ holds what `facekit
 * train` exported (the model cache by default, where Node kits look for them too).
 */
export function webappRoutes(models = modelFiles(), modelsDir = defaultCacheDir()): RouteSpec[] {
  const html = { contentType: 'text/html', description: 'the web app' };
  return [
    {
      method: 'GET',
      url: '/',
      summary: 'The web app: Live (webcam), People, Photo, Streams',
      tag: 'web app',
      access: 'public',
      responses: { 200: html },
      async handler(_ctx, _request, reply) {
        return sendWebappFile(reply, 'index.html', 'no-cache');
      },
    },
    {
      method: 'GET',
      url: '/app/*',
      summary: "The web app's scripts, styles and onnxruntime-web's WebAssembly",
      tag: 'web app',
      access: 'public',
      responses: { 200: { contentType: 'application/octet-stream', description: 'a built asset' } },
      async handler(_ctx, request, reply) {
        const rest = (request.params as { '*': string })['*'];
        // Vite names assets by content hash: a name never changes meaning.
        return sendWebappFile(reply, `app/${rest}`, 'public, max-age=31536000, immutable');
      },
    },
    {
      method: 'GET',
      url: '/models/index.json',
      summary: "The models facekit/browser runs, with each file's SHA-256 and size (its cache key)",
      tag: 'web app',
      access: 'public',
      responses: {
        200: {
          contentType: 'application/json',
          description: '{ [modelId]: { sha256, bytes } | { onRequest: true } } (an int8 build not made yet)',
        },
      },
      async handler(_ctx, _request, reply) {
        return reply
          .headers({ ...ISOLATION_HEADERS, 'cache-control': 'no-cache' })
          .type('application/json')
          .send(JSON.stringify(await modelIndex(models)));
      },
    },
    {
      method: 'GET',
      url: '/models/:file',
      summary: 'One built model (<id>.onnx), the same bytes the server runs; an int8 one is built on its first request',
      tag: 'web app',
      access: 'public',
      params: {
        type: 'object',
        properties: { file: { type: 'string', pattern: '^[a-z0-9_]+\\.onnx$' } },
        required: ['file'],
      },
      responses: { 200: { contentType: 'application/octet-stream', description: 'ONNX model' } },
      async handler(_ctx, request, reply) {
        const id = (request.params as { file: string }).file.replace(/\.onnx$/, '') as ModelId;
        if (!BROWSER_MODELS.includes(id))
          throw new FaceKitError('NOT_FOUND', `no browser model ${id} (there are: ${BROWSER_MODELS.join(', ')})`, {
            field: 'file',
          });
        const file = await models(id);
        return reply
          .headers({ ...ISOLATION_HEADERS, etag: `"${file.sha256}"`, 'cache-control': 'public, max-age=3600' })
          .type('application/octet-stream')
          .send(Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength));
      },
    },
    {
      method: 'GET',
      url: '/models/embedders/:file',
      summary:
        "An embedder tuned by `facekit train` (<name>.json, its spec, and <name>.onnx), for facekit/browser's `embedder` option",
      tag: 'web app',
      access: 'public',
      params: {
        type: 'object',
        properties: { file: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,62}\\.(json|onnx)$' } },
        required: ['file'],
      },
      responses: { 200: { contentType: 'application/octet-stream', description: 'the spec (JSON) or the ONNX model' } },
      async handler(_ctx, request, reply) {
        const file = (request.params as { file: string }).file;
        const name = file.replace(/\.(json|onnx)$/, '');
        const paths = tunedPaths(name, modelsDir);
        const path = file.endsWith('.json') ? paths.spec : paths.onnx;
        let body: Buffer;
        try {
          body = await readFile(path);
        } catch (cause) {
          throw new FaceKitError(
            'NOT_FOUND',
            `no tuned embedder ${name} (no ${file} in the models folder's embedders/)`,
            {
              field: 'file',
              cause,
            },
          );
        }
        return reply
          .headers({ ...ISOLATION_HEADERS, 'cache-control': 'no-cache' })
          .type(file.endsWith('.json') ? 'application/json' : 'application/octet-stream')
          .send(body);
      },
    },
  ];
}
