/** facekit/image: decoding photos (EXIF orientation, pixel limits) and raw pixels as an Image. */
export { DEFAULT_MAX_PIXELS, imageFromRaw, loadImage } from '../image/decode.js';
export type { LoadImageOptions } from '../image/decode.js';
export { annotate, DEFAULT_MARK_COLOR, saveImage } from '../image/draw.js';
export type { AnnotateOptions, EncodeFormat, FaceMark, SaveImageOptions } from '../image/draw.js';
