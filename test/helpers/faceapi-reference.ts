/**
 * face-api.js on tfjs with the wasm backend: the reference every rebuilt network is checked
 * against. Loaded lazily (tfjs is slow to start) and only by tests and benchmarks.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { Image } from '../../src/types.js';

const require = createRequire(import.meta.url);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
// biome-ignore lint/suspicious/noExplicitAny: face-api's tfjs build ships no types; the reference is used only to compare outputs.
export type FaceApi = any;

let loaded: Promise<FaceApi> | undefined;

export function faceApiModelDir(): string {
  return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

export function faceApiSample(n: number): string {
  return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', `sample${n}.jpg`);
}

/** face-api with tfjs-wasm ready and every network loaded from the npm package. */
export function loadFaceApi(): Promise<FaceApi> {
  loaded ??= (async () => {
    require('@tensorflow/tfjs');
    require('@tensorflow/tfjs-backend-wasm');
    const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
    await faceapi.tf.setBackend('wasm');
    await faceapi.tf.ready();
    const dir = faceApiModelDir();
    await Promise.all([
      faceapi.nets.tinyFaceDetector.loadFromDisk(dir),
      faceapi.nets.ssdMobilenetv1.loadFromDisk(dir),
      faceapi.nets.faceLandmark68Net.loadFromDisk(dir),
      faceapi.nets.faceLandmark68TinyNet.loadFromDisk(dir),
      faceapi.nets.faceRecognitionNet.loadFromDisk(dir),
    ]);
    return faceapi;
  })();
  return loaded;
}

/** Largest absolute elementwise difference. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A face-api sample photo decoded the plain way (no EXIF handling needed: they carry none). */
export async function loadSample(n: number): Promise<Image> {
  const { data, info } = await sharp(faceApiSample(n)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    width: info.width,
    height: info.height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}
