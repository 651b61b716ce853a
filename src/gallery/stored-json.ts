import { FaceKitError } from '../errors.js';

/**
 * JSON the gallery wrote itself, read back. Text that does not parse was altered outside facekit:
 * GALLERY_CORRUPT says so, where a bare SyntaxError would be reported as an internal bug.
 */
export function parseStoredJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new FaceKitError('GALLERY_CORRUPT', `stored ${what} is not valid JSON: the gallery was damaged`, {
      field: what,
      cause,
    });
  }
}
