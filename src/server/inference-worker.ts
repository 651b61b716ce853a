/**
 * One inference worker: single-threaded pipelines (one per detector and precision asked for, all
 * with the service's one embedder),
 * one photo at a time. Decoding, every network and the thumbnail crops run here, off the thread
 * that answers HTTP.
 */
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { FaceKitError } from '../errors.js';
import { loadImage } from '../image/decode.js';
import { FaceKit } from '../pipeline/kit.js';
import type { Box, Image, Point } from '../types.js';
import type {
  FromWorker,
  JobError,
  PhotoFace,
  PhotoJob,
  PhotoResult,
  StageTimes,
  ToWorker,
  WorkerSetup,
} from './inference-protocol.js';
import { workerKitOptions } from './kit-options.js';
import type { RecognitionOptions } from './limits.js';

/** Thumbnail side: the encoder's chip size, enough to tell who it is in a list. */
const THUMBNAIL_SIDE = 150;
/** Margin around the face box on each side, as a share of the box: hair and chin stay in. */
const THUMBNAIL_MARGIN = 0.25;
const THUMBNAIL_QUALITY = 85;

const port = parentPort;
if (!port) throw new Error('facekit: server/inference-worker runs only as a worker thread');
// libvips would otherwise decode on every core in each worker; the pool gives each worker one.
sharp.concurrency(1);

const setup = workerData as WorkerSetup;
const kits = new Map<string, FaceKit>();
const post = (m: FromWorker): void => port.postMessage(m);

function kitFor(o: RecognitionOptions): FaceKit {
  const key = `${o.detector}/${o.precision}/${o.retryOnMiss}`;
  let kit = kits.get(key);
  if (!kit) {
    kit = new FaceKit(workerKitOptions(o, setup.embedder));
    kits.set(key, kit);
  }
  return kit;
}

function jobError(cause: unknown): JobError {
  if (cause instanceof FaceKitError)
    return { code: cause.code, message: cause.message, ...(cause.field ? { field: cause.field } : {}) };
  return { code: 'INTERNAL', message: cause instanceof Error ? cause.message : String(cause) };
}

const plainPoint = (p: Point): Point => ({ x: p.x, y: p.y });
const plainBox = (b: Box): Box => ({ x: b.x, y: b.y, width: b.width, height: b.height });

async function thumbnail(image: Image, box: Box): Promise<Uint8Array> {
  const mx = box.width * THUMBNAIL_MARGIN;
  const my = box.height * THUMBNAIL_MARGIN;
  const left = Math.max(0, Math.floor(box.x - mx));
  const top = Math.max(0, Math.floor(box.y - my));
  const right = Math.min(image.width, Math.ceil(box.x + box.width + mx));
  const bottom = Math.min(image.height, Math.ceil(box.y + box.height + my));
  const buffer = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) })
    .resize({ width: THUMBNAIL_SIDE, height: THUMBNAIL_SIDE, fit: 'inside' })
    .jpeg({ quality: THUMBNAIL_QUALITY })
    .toBuffer();
  return new Uint8Array(buffer);
}

async function run(job: PhotoJob): Promise<PhotoResult> {
  const stages: StageTimes = {};
  const timed = async <T>(stage: keyof StageTimes, fn: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      stages[stage] = performance.now() - start;
    }
  };
  const image = await timed('decode', () => loadImage(job.bytes, { maxPixels: job.maxPixels, name: job.name }));
  const kit = kitFor(job.options);
  const detections = await timed('detect', () =>
    kit.detect(image, { minConfidence: job.options.minConfidence, maxFaces: job.options.maxFaces }),
  );
  let faces: PhotoFace[];
  if (job.task === 'detect') {
    faces = detections.map((d) => ({
      box: plainBox(d.box),
      score: d.score,
      ...(d.landmarks5 ? { landmarks5: d.landmarks5.map(plainPoint) } : {}),
    }));
  } else {
    const withPoints = await timed('landmarks', () => kit.landmarks(image, detections));
    const descriptors = await timed('encode', () => kit.encode(image, withPoints));
    faces = withPoints.map((f, i) => ({
      box: plainBox(f.box),
      score: f.score,
      landmarks: f.landmarks.map(plainPoint),
      ...(f.landmarks5 ? { landmarks5: f.landmarks5.map(plainPoint) } : {}),
      descriptor: descriptors[i],
    }));
  }
  if (job.thumbnails) {
    const crops = await timed('thumbnail', () => Promise.all(faces.map((f) => thumbnail(image, f.box))));
    faces = faces.map((f, i) => ({ ...f, thumbnail: crops[i] }));
  }
  return { width: image.width, height: image.height, faces, stages };
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'close') {
    void Promise.all([...kits.values()].map((k) => k.dispose())).finally(() => port.close());
    return;
  }
  run(m.job).then(
    (result) => post({ type: 'done', id: m.id, result }),
    (cause: unknown) => post({ type: 'failed', id: m.id, error: jobError(cause) }),
  );
});

kitFor(setup.warm)
  .warmUp()
  .then(
    () => post({ type: 'ready' }),
    (cause: unknown) => post({ type: 'start-failed', error: jobError(cause) }),
  );
