/**
 * Browser test set-up: finds a Chromium (Debian's /usr/bin/chromium; CHROMIUM_PATH to pick
 * another), bundles facekit/browser with esbuild, and serves it with onnxruntime-web's files and
 * the models on loopback. Tests skip with the printed reason when no Chromium is there.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize } from 'node:path';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { BROWSER_MODELS, ISOLATION_HEADERS, modelFiles, modelIndex } from '../../src/server/routes/webapp.js';
import type { ModelId } from '../../src/models/registry.js';

const require = createRequire(import.meta.url);

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** Chromium's path, or why there is none (the reason a skipped test prints). */
export function findChromium(): { path: string } | { skip: string } {
  const given = process.env.CHROMIUM_PATH;
  if (given) return existsSync(given) ? { path: given } : { skip: `CHROMIUM_PATH=${given} does not exist` };
  const found = CANDIDATES.find((p) => existsSync(p));
  return found
    ? { path: found }
    : { skip: `no Chromium found (looked at ${CANDIDATES.join(', ')}; apt-get install chromium)` };
}

/** For a test file: Chromium's path, or the reason its tests skip (printed once here). */
export function chromiumOrSkip(): { chromium: string; skip: string | false } {
  const found = findChromium();
  if ('path' in found) return { chromium: found.path, skip: false };
  console.log(`# browser tests skipped: ${found.skip}`);
  return { chromium: '', skip: found.skip };
}

export async function launchChromium(path: string, args: readonly string[] = []): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: path,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', ...args],
  });
}

/** facekit/browser as one ESM file; onnxruntime-web stays an import the page maps. */
export async function bundleFaceKit(): Promise<string> {
  const out = await build({
    entryPoints: [join(import.meta.dirname, '../../src/browser/index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: ['onnxruntime-web', 'onnxruntime-web/*'],
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

// The package exports no package.json; its main (Node build) sits in dist/ beside the browser files.
const ORT_DIR = dirname(require.resolve('onnxruntime-web'));
const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.json': 'application/json',
};

/** The test page: an import map sends onnxruntime-web/wasm and /webgpu to the package's own unbundled files. */
const PAGE = `<!doctype html><html><head><meta charset="utf-8">
<script type="importmap">{"imports":{"onnxruntime-web/wasm":"/ort/ort.wasm.min.mjs","onnxruntime-web/webgpu":"/ort/ort.webgpu.min.mjs"}}</script>
</head><body></body></html>`;

export interface StaticSite {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the test page, the bundle, onnxruntime-web and the models (cross-origin isolated), plus `extra` files. */
export async function serveFaceKit(extra: Record<string, Uint8Array | string> = {}): Promise<StaticSite> {
  const bundle = await bundleFaceKit();
  const models = modelFiles();
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, body: Uint8Array | string, type = 'text/plain') => {
      response.writeHead(status, { 'content-type': type, ...ISOLATION_HEADERS });
      response.end(body);
    };
    void (async () => {
      if (path === '/') return send(200, PAGE, 'text/html');
      if (path === '/facekit.js') return send(200, bundle, 'text/javascript');
      if (extra[path] !== undefined) return send(200, extra[path], TYPES[extname(path)] ?? 'application/octet-stream');
      if (path.startsWith('/ort/')) {
        const file = normalize(join(ORT_DIR, path.slice(5)));
        if (!file.startsWith(ORT_DIR)) return send(404, 'no');
        return send(200, await readFile(file), TYPES[extname(file)] ?? 'application/octet-stream');
      }
      if (path === '/models/index.json') return send(200, JSON.stringify(await modelIndex(models)), 'application/json');
      const model = /^\/models\/([a-z0-9_]+)\.onnx$/.exec(path);
      if (model && BROWSER_MODELS.includes(model[1] as ModelId))
        return send(200, (await models(model[1] as ModelId)).bytes, 'application/octet-stream');
      send(404, `no ${path}`);
    })().catch((e: Error) => send(500, e.message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * A page whose evaluate() takes functions written in these tests: tsx compiles them with esbuild's
 * keepNames, which wraps functions in a `__name` helper the page would not otherwise have.
 */
export async function newPage(browser: Browser, options: Parameters<Browser['newPage']>[0] = {}) {
  const page = await browser.newPage(options);
  await page.addInitScript('globalThis.__name = (f) => f;');
  page.on('pageerror', (e) => console.log(`# page error: ${e.message}`));
  return page;
}
