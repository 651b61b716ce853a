import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { sharpLib } from './sharp.js';
import { FaceKitError, invalidArgument } from '../errors.js';
import type { Box, Image, Point } from '../types.js';
import { checkImage } from './ops.js';

export interface FaceMark {
  box: Box;
  landmarks?: readonly Point[];
  label?: string;
  /** Any SVG colour: a name, #rgb/#rrggbb(aa), rgb()/rgba()/hsl()/hsla(). */
  color?: string;
}

export type EncodeFormat = 'jpeg' | 'png' | 'webp' | 'tiff' | 'avif' | 'gif';

export interface AnnotateOptions {
  format?: 'jpeg' | 'png';
  /** JPEG quality 1–100. */
  quality?: number;
}

export interface SaveImageOptions {
  /** Quality 1–100 for the lossy formats (JPEG, WebP, AVIF). */
  quality?: number;
}

/** Lime stands out against skin, hair and most backgrounds. */
export const DEFAULT_MARK_COLOR = '#00ff00';

/** 90 keeps thin box lines and label text free of visible ringing at a modest size. */
const DEFAULT_JPEG_QUALITY = 90;

/** Line width as a fraction of the shorter image side, so marks read alike on a thumbnail and a 24 MP photo. */
const STROKE_FRACTION = 1 / 300;
const MIN_STROKE = 2;
/** Label text height relative to the shorter side; MIN_FONT keeps it legible on small images. */
const FONT_FRACTION = 1 / 40;
const MIN_FONT = 12;
/** DejaVu Sans averages ~0.6 em per Latin glyph; the label backdrop is sized from it, not measured. */
const GLYPH_WIDTH_EM = 0.62;

const EXTENSION_FORMATS: Readonly<Record<string, EncodeFormat>> = {
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.jpe': 'jpeg',
  '.png': 'png',
  '.webp': 'webp',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.avif': 'avif',
  '.gif': 'gif',
};

/**
 * Draws each face's box, landmark dots and label over the image and returns it encoded (JPEG by
 * default). Drawing is one SVG overlay composited by sharp, so no canvas dependency is needed.
 */
export async function annotate(
  image: Image,
  faces: readonly FaceMark[],
  options: AnnotateOptions = {},
): Promise<Buffer> {
  checkImage(image);
  const format = options.format ?? 'jpeg';
  if (format !== 'jpeg' && format !== 'png')
    throw invalidArgument('format', `must be 'jpeg' or 'png', got ${String(format)}`);
  const quality = checkQuality(options.quality);
  const svg = overlaySvg(image.width, image.height, faces);
  const composed = sharpLib()(image.data, {
    raw: { width: image.width, height: image.height, channels: 3 },
    limitInputPixels: false,
  })
    // The overlay is our own SVG at the image's size; sharp's default limit must not refuse it for a big photo.
    .composite([{ input: Buffer.from(svg), top: 0, left: 0, limitInputPixels: false }]);
  // Full-resolution chroma: 4:2:0 would smear thin coloured lines and label text into the grey around them.
  return format === 'png'
    ? composed.png().toBuffer()
    : composed.jpeg({ quality: quality ?? DEFAULT_JPEG_QUALITY, chromaSubsampling: '4:4:4' }).toBuffer();
}

/** Writes `image` to `path` in the format its extension names (.jpg, .png, .webp, .tif, .avif, .gif). */
export async function saveImage(image: Image, path: string, options: SaveImageOptions = {}): Promise<void> {
  checkImage(image);
  if (typeof path !== 'string' || path === '') throw invalidArgument('path', 'must be a non-empty string');
  const ext = extname(path).toLowerCase();
  const format = EXTENSION_FORMATS[ext];
  if (format === undefined) {
    throw invalidArgument(
      'path',
      `cannot tell the format from extension '${ext}' (use one of ${Object.keys(EXTENSION_FORMATS).join(' ')})`,
    );
  }
  const quality = checkQuality(options.quality);
  const bytes = await encode(image, format, quality);
  try {
    await writeFile(path, bytes);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new FaceKitError('FILE_UNWRITABLE', 'its folder does not exist', { file: path, cause });
    throw new FaceKitError('FILE_UNWRITABLE', `cannot be written (${code ?? String(cause)})`, { file: path, cause });
  }
}

async function encode(image: Image, format: EncodeFormat, quality: number | undefined): Promise<Buffer> {
  const s = sharpLib()(image.data, {
    raw: { width: image.width, height: image.height, channels: 3 },
    limitInputPixels: false,
  });
  switch (format) {
    case 'jpeg':
      return s.jpeg({ quality: quality ?? DEFAULT_JPEG_QUALITY }).toBuffer();
    case 'png':
      return s.png().toBuffer();
    case 'webp':
      return s.webp(quality === undefined ? {} : { quality }).toBuffer();
    case 'tiff':
      return s.tiff().toBuffer();
    case 'avif':
      return s.avif(quality === undefined ? {} : { quality }).toBuffer();
    case 'gif':
      return s.gif().toBuffer();
  }
}

function checkQuality(q: number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (!Number.isInteger(q) || q < 1 || q > 100) throw invalidArgument('quality', `must be an integer 1–100, got ${q}`);
  return q;
}

/** Colour syntaxes librsvg understands; anything else is refused rather than drawn black. */
const COLOR_PATTERN = /^(#[0-9a-f]{3,4}|#[0-9a-f]{6}|#[0-9a-f]{8}|[a-z]+|(rgb|rgba|hsl|hsla)\(\s*[-\d.%\s,/]+\))$/i;

function overlaySvg(width: number, height: number, faces: readonly FaceMark[]): string {
  if (!Array.isArray(faces as unknown)) throw invalidArgument('faces', 'must be an array');
  const shorter = Math.min(width, height);
  const stroke = Math.max(MIN_STROKE, Math.round(shorter * STROKE_FRACTION));
  const font = Math.max(MIN_FONT, Math.round(shorter * FONT_FRACTION));
  const dot = Math.max(1.5, stroke * 0.9);
  const parts: string[] = [];
  faces.forEach((face, i) => {
    const field = `faces[${i}]`;
    const { box } = face;
    if (!box || ![box.x, box.y, box.width, box.height].every(Number.isFinite) || box.width < 0 || box.height < 0) {
      throw invalidArgument(`${field}.box`, 'must have finite x, y and non-negative width, height');
    }
    const color = face.color ?? DEFAULT_MARK_COLOR;
    if (typeof color !== 'string' || !COLOR_PATTERN.test(color))
      throw invalidArgument(`${field}.color`, `not a colour: ${String(color)}`);
    const c = escapeXml(color);
    parts.push(
      `<rect x="${num(box.x)}" y="${num(box.y)}" width="${num(box.width)}" height="${num(box.height)}" fill="none" stroke="${c}" stroke-width="${stroke}"/>`,
    );
    face.landmarks?.forEach((p, j) => {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y))
        throw invalidArgument(`${field}.landmarks[${j}]`, 'must have finite x and y');
      parts.push(`<circle cx="${num(p.x)}" cy="${num(p.y)}" r="${num(dot)}" fill="${c}"/>`);
    });
    if (face.label !== undefined && face.label !== '') {
      const text = String(face.label);
      const pad = Math.round(font * 0.25);
      const boxH = Math.round(font * 1.3);
      const boxW = Math.round([...text].length * font * GLYPH_WIDTH_EM) + 2 * pad;
      // Above the box when there is room, otherwise just inside its top edge.
      const top = box.y - stroke / 2 - boxH >= 0 ? box.y - stroke / 2 - boxH : box.y + stroke / 2;
      const left = box.x - stroke / 2;
      parts.push(
        `<rect x="${num(left)}" y="${num(top)}" width="${boxW}" height="${boxH}" fill="${c}"/>`,
        `<text x="${num(left + pad)}" y="${num(top + boxH - pad - font * 0.1)}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif" font-size="${font}" fill="#ffffff" stroke="#000000" stroke-width="${num(font / 8)}" paint-order="stroke">${escapeXml(text)}</text>`,
      );
    }
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

const num = (n: number): string => String(Math.round(n * 100) / 100);

/** Escapes markup and drops the control characters XML 1.0 forbids, which would make librsvg reject the whole overlay. */
export function escapeXml(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is stripped.
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}
