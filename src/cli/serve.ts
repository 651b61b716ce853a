/** `facekit serve`: the HTTP service (src/server/) over a gallery file, until SIGTERM or SIGINT. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { defaultGalleryPath } from '../entry/gallery.js';
import type { DetectorName } from '../entry/detect.js';
import type { Precision } from '../entry/models.js';
import { dbOption, msFromSeconds, parsePositiveInt, type DbCliOptions } from './gallery-options.js';
import { embedderOption, modelOption, note, parseConfidence, precisionOption } from './output.js';

interface ServeCliOptions extends DbCliOptions {
  host: string;
  port: number;
  workers?: number;
  queue?: number;
  queueWait?: number;
  refusalDelay?: number;
  cors?: string;
  maxBodyMb?: number;
  maxPixels?: number;
  maxFaces?: number;
  maxImages?: number;
  timeout?: number;
  model: DetectorName;
  precision: Precision;
  minConfidence?: number;
  log?: boolean;
}

const DEFAULT_PORT = 8080;
const MAX_PORT = 65535;
const MB = 1024 * 1024;

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > MAX_PORT)
    throw new InvalidArgumentError(`must be a port number, 0 to ${MAX_PORT}.`);
  return n;
}

function parseShare(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('must be a number, 0 or more (a share of one analysis, e.g. 0.5).');
  return n;
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('must be a whole number, 0 or more.');
  return n;
}

export async function runServe(opts: ServeCliOptions): Promise<number> {
  const { createService } = await import('../entry/server.js');
  const db = opts.db ?? defaultGalleryPath();
  const limits = Object.fromEntries(
    Object.entries({
      workers: opts.workers,
      queue: opts.queue,
      queueWait: opts.queueWait,
      refusalDelayMs: opts.refusalDelay,
      maxBodyBytes: opts.maxBodyMb === undefined ? undefined : opts.maxBodyMb * MB,
      maxPixels: opts.maxPixels,
      maxFaces: opts.maxFaces,
      maxImages: opts.maxImages,
      timeoutMs: msFromSeconds(opts.timeout),
    }).filter(([, v]) => v !== undefined),
  );
  const service = await createService({
    db,
    limits,
    detector: opts.model,
    precision: opts.precision,
    minConfidence: opts.minConfidence,
    embedder: opts.embedder,
    cors: opts.cors,
    logger: opts.log === true,
    onNote: note,
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      note(`${signal} again: stopping now, in-flight requests are dropped`);
      process.exit(1);
    }
    stopping = true;
    note(`${signal}: finishing the requests in flight, then stopping`);
    service.close().then(
      () => process.exit(0),
      (e: unknown) => {
        note(`error while stopping: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const address = await service.listen(opts.host, opts.port);
  const keys = await service.context.store.keys.list();
  if (!keys.some((k) => k.revokedAt === null))
    note(
      `no API key yet: every route but /healthz and /readyz answers 401; make one with: facekit keys create --role admin --db ${db}`,
    );
  note(
    `serving ${db} on ${address} (${service.context.limits.workers} workers, embedder ${service.context.gallery.modelId}; docs at ${address}/docs)`,
  );
  await service.ready.then(
    () => note('ready: models loaded in every worker'),
    (e: unknown) => note(`inference workers failed to start: ${e instanceof Error ? e.message : String(e)}`),
  );
  // Runs until a signal; the promise never settles on its own.
  return new Promise<number>(() => undefined);
}

export function serveCommand(): Command {
  return new Command('serve')
    .summary('an HTTP service for recognition and the gallery (API keys, limits, OpenAPI, metrics)')
    .description(
      'serve recognition and the gallery over HTTP under /v1 (see /docs and /openapi.json). Every route but /healthz and /readyz needs an API key (facekit keys create). Binds to loopback unless --host says otherwise.',
    )
    .addOption(new Option('--host <address>', 'address to listen on').default('127.0.0.1'))
    .addOption(new Option('--port <n>', 'port (0: any free one)').argParser(parsePort).default(DEFAULT_PORT))
    .addOption(dbOption())
    .addOption(
      new Option('--workers <n>', 'inference worker threads (default: one per core)').argParser(parsePositiveInt),
    )
    .addOption(
      new Option('--queue <n>', 'photos waiting beyond those analysed before 503 (default: 1 per worker)').argParser(
        parseCount,
      ),
    )
    .addOption(
      new Option(
        '--queue-wait <share>',
        'longest expected wait for a queued photo, in analyses, before 503 (default 0.5: accepted photos answer within ~1.5 analyses)',
      ).argParser(parseShare),
    )
    .addOption(
      new Option(
        '--refusal-delay <ms>',
        'hold a 503 BUSY this long before sending it, so clients that retry at once do not flood the server (200; 0: at once)',
      ).argParser(parseCount),
    )
    .option('--cors <origin>', "allow browser calls from this origin ('*' for any); off by default")
    .addOption(new Option('--max-body-mb <n>', 'largest request body in MB (20)').argParser(parsePositiveInt))
    .addOption(new Option('--max-pixels <n>', 'largest photo, width × height (40000000)').argParser(parsePositiveInt))
    .addOption(new Option('--max-faces <n>', 'most faces analysed per photo (20)').argParser(parsePositiveInt))
    .addOption(new Option('--max-images <n>', 'most photos per request (20)').argParser(parsePositiveInt))
    .addOption(
      new Option('--timeout <s>', 'seconds a request may take before 503 TIMEOUT (30)').argParser(parsePositiveInt),
    )
    .addOption(modelOption())
    .addOption(precisionOption())
    .addOption(embedderOption())
    .addOption(new Option('--min-confidence <n>', 'default detection threshold').argParser(parseConfidence))
    .option('--log', 'log every request (JSON lines on stdout)')
    .action(async (opts: ServeCliOptions) => {
      process.exitCode = await runServe(opts);
    });
}
