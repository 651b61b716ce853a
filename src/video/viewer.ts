/**
 * The live viewer: an HTTP server on loopback with a page that shows the annotated stream as
 * MJPEG (multipart/x-mixed-replace, which every browser plays in an <img>) and the events as they
 * happen (Server-Sent Events). A slow viewer misses frames; it never slows the watch.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaceKitError } from '../errors.js';

/** Events replayed to a viewer that connects late. */
const EVENTS_KEPT = 200;
const BOUNDARY = 'facekitframe';
export const VIEWER_HOST = '127.0.0.1';

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>facekit watch</title>
<style>body{font:14px system-ui,sans-serif;margin:0;display:flex;gap:12px;padding:12px;background:#111;color:#eee}
img{max-width:70vw;background:#000}#events{list-style:none;padding:0;margin:0;max-height:90vh;overflow:auto;flex:1}
#events li{padding:2px 0;border-bottom:1px solid #333}.known{color:#7f7}.unknown{color:#fb6}.gap{color:#f77}</style></head>
<body><img src="/stream.mjpg" alt="annotated stream"><ul id="events"></ul>
<script>
const list = document.getElementById('events');
const source = new EventSource('/events');
source.onmessage = (m) => {
  const e = JSON.parse(m.data);
  if (e.type === 'track-updated') return;
  const li = document.createElement('li');
  const who = e.name ?? (e.track ? 'unknown' : '');
  li.className = e.type === 'source-gap' ? 'gap' : e.name ? 'known' : 'unknown';
  li.textContent = e.time.toFixed(1) + ' s  ' + e.type + (e.track ? ' #' + e.track : '') + (who ? ' ' + who : '') +
    (e.type === 'source-gap' ? ' ' + e.duration.toFixed(1) + ' s' : '');
  list.prepend(li);
};
</script></body></html>`;

export interface Viewer {
  readonly url: string;
  publishFrame(jpeg: Buffer): void;
  publishEvent(event: object): void;
  close(): Promise<void>;
}

export async function startViewer(port: number): Promise<Viewer> {
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new FaceKitError('INVALID_ARGUMENT', `serve: port must be an integer 0–65535, got ${port}`, {
      field: 'serve',
    });
  const streams = new Set<ServerResponse>();
  const listeners = new Set<ServerResponse>();
  const events: string[] = [];
  let latest: Buffer | undefined;

  const sendFrame = (res: ServerResponse, jpeg: Buffer): void => {
    // A viewer whose socket is still full of earlier frames skips this one.
    if (res.writableNeedDrain) return;
    res.write(`--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`);
    res.write(jpeg);
    res.write('\r\n');
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else if (path === '/stream.mjpg') {
      res.writeHead(200, {
        'content-type': `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
        'cache-control': 'no-store',
        connection: 'close',
      });
      streams.add(res);
      req.on('close', () => streams.delete(res));
      if (latest) sendFrame(res, latest);
    } else if (path === '/events') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      for (const e of events) res.write(`data: ${e}\n\n`);
      listeners.add(res);
      req.on('close', () => listeners.delete(res));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause: NodeJS.ErrnoException) =>
      reject(
        new FaceKitError(
          'INVALID_ARGUMENT',
          `serve: cannot listen on ${VIEWER_HOST}:${port} (${cause.code ?? cause.message})`,
          { field: 'serve', cause },
        ),
      ),
    );
    server.listen(port, VIEWER_HOST, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${VIEWER_HOST}:${bound}/`,
    publishFrame(jpeg) {
      latest = jpeg;
      for (const res of streams) sendFrame(res, jpeg);
    },
    publishEvent(event) {
      const line = JSON.stringify(event);
      events.push(line);
      if (events.length > EVENTS_KEPT) events.shift();
      for (const res of listeners) res.write(`data: ${line}\n\n`);
    },
    async close() {
      for (const res of [...streams, ...listeners]) res.end();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
