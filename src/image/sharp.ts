/**
 * sharp (libvips), loaded on first use: decode, shrink, draw and the batch runner take it from here,
 * so importing them (every CLI command's start-up, `facekit --help`) does not load libvips.
 */
import { createRequire } from 'node:module';
import type Sharp from 'sharp';
import { lazy } from '../util/lazy.js';

const require = createRequire(import.meta.url);

export const sharpLib = lazy(() => require('sharp') as typeof Sharp);
