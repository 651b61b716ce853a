import type { Metadata } from 'sharp';
import { sharpLib } from './sharp.js';
import { FaceKitError, invalidArgument } from '../errors.js';
import type { Image } from '../types.js';
import { readRegularFile } from '../util/regular-file.js';

/**
 * Default pixel limit: 100 MP is above what nearly every camera writes (the rare 200 MP phone
 * mode needs the override) yet keeps the decoded RGB buffer, 3 bytes a pixel, at 300 MB.
 */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/**
 * Default cap on a photo file's size, checked before it is read: the uncompressed 8-bit RGB of
 * DEFAULT_MAX_PIXELS (300 MB) plus 16 MiB for metadata, so no photo the pixel limit accepts is
 * refused for its size, while a 1 GB file is refused at once (it took 14 s and 1.1 GB of memory to
 * read and then reject).
 */
export const DEFAULT_MAX_FILE_BYTES = 3 * DEFAULT_MAX_PIXELS + 16 * 2 ** 20;

/**
 * libjpeg reports a scan cut short by an end marker only as a warning ("premature end of data
 * segment") and pads the rest with grey: a 607-byte file then decodes as 81 MP of grey. failOn
 * 'warning' would refuse it, but also the benign warnings many camera JPEGs carry, so the
 * warnings are read instead and these ones refused.
 */
const TRUNCATION_WARNING = /premature end|truncat/i;

/**
 * Transparent pixels are put on white: that is how browsers, viewers and OS previews show them,
 * so the faces detected are the faces the user sees, and a cut-out portrait keeps the outline of
 * dark hair that black would swallow. `imageFromRaw` uses the same background.
 */
export const ALPHA_BACKGROUND = { r: 255, g: 255, b: 255 } as const;

/**
 * 'error' makes libvips reject truncated or undecodable data instead of padding it with grey,
 * but still accepts the benign libjpeg warnings ("extraneous bytes before marker") that many
 * camera JPEGs carry and every viewer opens; 'warning' would refuse those.
 */
const FAIL_ON = 'error';

const BUFFER_NAME = '<buffer>';

export interface LoadImageOptions {
  /** Largest width × height accepted, read from the header before decoding; 0 or Infinity disables. */
  maxPixels?: number;
  /** What errors call the input; defaults to the path, or '<buffer>' for bytes. */
  name?: string;
  /** Largest file read, in bytes, checked before reading; 0 or Infinity disables. Default DEFAULT_MAX_FILE_BYTES. */
  maxFileBytes?: number;
}

/** Raster formats facekit accepts, named by what their first bytes say. */
type SniffedFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'tiff' | 'avif' | 'heic';

/**
 * Decodes a photo to upright sRGB 8-bit RGB. Accepts JPEG, PNG, WebP, GIF (first frame), TIFF
 * (first page), AVIF, and HEIC where the installed sharp has an HEVC decoder (the prebuilt one
 * does not). Vector and document formats (SVG, PDF) are refused: they have no pixel size to check
 * and are not photos.
 */
export async function loadImage(input: string | Buffer | Uint8Array, options: LoadImageOptions = {}): Promise<Image> {
  const maxPixels = checkLimit('maxPixels', options.maxPixels, DEFAULT_MAX_PIXELS);
  const maxFileBytes = checkLimit('maxFileBytes', options.maxFileBytes, DEFAULT_MAX_FILE_BYTES);
  let name: string;
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    if (input === '') throw invalidArgument('input', 'path is empty');
    name = options.name ?? input;
    bytes = await readRegularFile(input, { name, maxBytes: maxFileBytes });
  } else if (input instanceof Uint8Array) {
    name = options.name ?? BUFFER_NAME;
    bytes = input;
  } else {
    throw invalidArgument('input', `expected a path, Buffer or Uint8Array, got ${describe(input)}`);
  }

  if (bytes.length === 0) throw new FaceKitError('EMPTY_INPUT', 'input is empty (0 bytes)', { file: name });
  const format = sniffFormat(bytes);
  if (format === undefined) {
    throw new FaceKitError('NOT_AN_IMAGE', 'not a supported image (expected JPEG, PNG, WebP, GIF, TIFF or AVIF)', {
      file: name,
    });
  }
  if (format === 'heic' && !sharpLib().format.heif.input.fileSuffix?.includes('.heic')) {
    throw new FaceKitError(
      'UNSUPPORTED_FORMAT',
      'HEIC (HEVC) cannot be decoded by the installed sharp, which reads AVIF only; convert it to JPEG',
      { file: name },
    );
  }

  // Header only: the pixel limit must be checked before a decompression bomb is decoded, and
  // sharp's own limit would also stop metadata() from reading the size we want to report.
  let header: Metadata;
  try {
    header = await sharpLib()(bytes, { limitInputPixels: false }).metadata();
  } catch (cause) {
    throw new FaceKitError('CORRUPT_IMAGE', `${format} header is unreadable: ${sharpMessage(cause)}`, {
      file: name,
      cause,
    });
  }
  const pixels = header.width * header.height;
  if (maxPixels !== 0 && pixels > maxPixels) {
    throw new FaceKitError(
      'IMAGE_TOO_LARGE',
      `${header.width}×${header.height} is ${pixels} pixels, above the limit of ${maxPixels} (raise options.maxPixels to accept it)`,
      { file: name },
    );
  }

  const warnings: string[] = [];
  try {
    const { data, info } = await sharpLib()(bytes, {
      failOn: FAIL_ON,
      limitInputPixels: maxPixels === 0 ? false : maxPixels,
      autoOrient: true,
      pages: 1,
    })
      .on('warning', (w: string) => warnings.push(w))
      .flatten({ background: ALPHA_BACKGROUND })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
      throw new Error(
        `decoder returned ${info.channels} channels, ${data.length} bytes for ${info.width}×${info.height}`,
      );
    }
    const truncated = warnings.find((w) => TRUNCATION_WARNING.test(w));
    if (truncated !== undefined) throw new Error(truncated);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (cause) {
    throw new FaceKitError('CORRUPT_IMAGE', `${format} data is truncated or corrupt: ${sharpMessage(cause)}`, {
      file: name,
      cause,
    });
  }
}

/**
 * Wraps pixels a caller already holds (video frames, canvas ImageData) as an Image. Always copies,
 * so a frame buffer the caller reuses cannot change an Image mid-pipeline. Greyscale is spread to
 * RGB; RGBA (straight, not premultiplied, as canvas gives it) is flattened onto ALPHA_BACKGROUND.
 */
export function imageFromRaw(
  data: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  channels: 1 | 3 | 4,
): Image {
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw invalidArgument('data', `expected a Uint8Array or Uint8ClampedArray, got ${describe(data)}`);
  }
  if (!Number.isInteger(width) || width <= 0)
    throw invalidArgument('width', `must be a positive integer, got ${width}`);
  if (!Number.isInteger(height) || height <= 0)
    throw invalidArgument('height', `must be a positive integer, got ${height}`);
  if (channels !== 1 && channels !== 3 && channels !== 4)
    throw invalidArgument('channels', `must be 1, 3 or 4, got ${String(channels)}`);
  const n = width * height;
  if (data.length !== n * channels) {
    throw invalidArgument(
      'data',
      `holds ${data.length} bytes, expected ${width}×${height}×${channels} = ${n * channels}`,
    );
  }

  const out = new Uint8Array(n * 3);
  if (channels === 3) {
    out.set(data);
  } else if (channels === 1) {
    for (let i = 0, o = 0; i < n; i++, o += 3) {
      const v = data[i];
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
    }
  } else {
    const { r, g, b } = ALPHA_BACKGROUND;
    for (let i = 0, s = 0, o = 0; i < n; i++, s += 4, o += 3) {
      const a = data[s + 3];
      if (a === 255) {
        out[o] = data[s];
        out[o + 1] = data[s + 1];
        out[o + 2] = data[s + 2];
      } else {
        const k = a / 255;
        out[o] = Math.round(data[s] * k + r * (1 - k));
        out[o + 1] = Math.round(data[s + 1] * k + g * (1 - k));
        out[o + 2] = Math.round(data[s + 2] * k + b * (1 - k));
      }
    }
  }
  return { width, height, data: out };
}

function checkLimit(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === Infinity) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalidArgument(field, `must be a non-negative integer or Infinity, got ${String(value)}`);
  }
  return value;
}

const ascii = (bytes: Uint8Array, start: number, end: number): string =>
  String.fromCharCode(...bytes.subarray(start, end));

/** Brands in an ISO-BMFF `ftyp` box that mean an AVIF or HEIC still image. */
const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

/**
 * Decides the format from magic bytes rather than from sharp's error text, so "not an image" and
 * "an image with broken data" are told apart without depending on libvips wording.
 */
function sniffFormat(b: Uint8Array): SniffedFormat | undefined {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (
    b.length >= 8 &&
    b[0] === 0x89 &&
    ascii(b, 1, 4) === 'PNG' &&
    b[4] === 0x0d &&
    b[5] === 0x0a &&
    b[6] === 0x1a &&
    b[7] === 0x0a
  )
    return 'png';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'gif';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (b.length >= 4) {
    const head = ascii(b, 0, 4);
    // Classic TIFF (42) and BigTIFF (43), little- and big-endian.
    if (head === 'II*\0' || head === 'MM\0*' || head === 'II+\0' || head === 'MM\0+') return 'tiff';
  }
  if (b.length >= 16 && ascii(b, 4, 8) === 'ftyp') {
    const boxSize = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
    const end = Math.min(b.length, Math.max(16, boxSize));
    const brands = [ascii(b, 8, 12)];
    for (let i = 16; i + 4 <= end; i += 4) brands.push(ascii(b, i, i + 4));
    if (brands.some((x) => AVIF_BRANDS.has(x))) return 'avif';
    if (brands.some((x) => HEIC_BRANDS.has(x))) return 'heic';
  }
  return undefined;
}

function sharpMessage(cause: unknown): string {
  // libvips appends one line per warning it saw; the first line says what went wrong.
  const text = cause instanceof Error ? cause.message : String(cause);
  return text.split('\n')[0].trim();
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
