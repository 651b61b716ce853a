/**
 * Faces the Live page saw but could not name, kept for the People page to group and name. Only in
 * this tab (sessionStorage, like the key): descriptors and small thumbnails, never whole frames.
 */

export interface UnknownFace {
  readonly descriptor: Float32Array;
  /** A small JPEG of the face (data: URL). */
  readonly thumbnail: string;
  readonly seenAt: number;
}

const STORE = 'facekit-unknown-faces';
/** Oldest faces go first past this (a tab left on the Live page must not fill sessionStorage). */
export const MAX_UNKNOWN = 120;

type Stored = { d: number[]; t: string; s: number }[];

function load(): UnknownFace[] {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORE) ?? '[]') as Stored;
    return stored.map((f) => ({ descriptor: Float32Array.from(f.d), thumbnail: f.t, seenAt: f.s }));
  } catch {
    // Unreadable (edited by hand, another version): start again rather than break both pages.
    return [];
  }
}

function save(faces: readonly UnknownFace[]): void {
  const stored: Stored = faces.map((f) => ({ d: Array.from(f.descriptor), t: f.thumbnail, s: f.seenAt }));
  try {
    sessionStorage.setItem(STORE, JSON.stringify(stored));
  } catch {
    // Quota: keep the newer half.
    sessionStorage.setItem(STORE, JSON.stringify(stored.slice(Math.floor(stored.length / 2))));
  }
}

export function unknownFaces(): UnknownFace[] {
  return load();
}

export function rememberUnknown(face: UnknownFace): void {
  const faces = load();
  faces.push(face);
  save(faces.slice(-MAX_UNKNOWN));
}

/** Drops these faces (named, or discarded by the user). */
export function forgetUnknown(gone: readonly UnknownFace[]): void {
  const key = (f: UnknownFace) => `${f.seenAt}:${f.descriptor[0]}`;
  const seen = new Set(gone.map(key));
  save(load().filter((f) => !seen.has(key(f))));
}
