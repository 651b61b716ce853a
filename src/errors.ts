/** Stable machine-readable error codes; the message is for people, the code is for programs. */
export type FaceKitErrorCode =
  | 'FILE_NOT_FOUND'
  | 'FILE_UNREADABLE'
  | 'FILE_UNWRITABLE'
  /** An output file is there already and was not replaced (commands replace with --force). */
  | 'FILE_EXISTS'
  | 'EMPTY_INPUT'
  | 'NOT_AN_IMAGE'
  | 'UNSUPPORTED_FORMAT'
  | 'CORRUPT_IMAGE'
  | 'IMAGE_TOO_LARGE'
  | 'INVALID_ARGUMENT'
  | 'MODEL_MISSING'
  | 'MODEL_CORRUPT'
  | 'MODEL_BUILD_FAILED'
  | 'INFERENCE_FAILED'
  | 'DISPOSED'
  | 'MODEL_MISMATCH'
  /** Gallery: the file is not a facekit gallery, or SQLite reports it damaged. */
  | 'GALLERY_CORRUPT'
  /** Gallery: made by a newer facekit (schema version above what this one knows). */
  | 'GALLERY_VERSION'
  /** Gallery: another process held its write lock longer than the busy timeout. */
  | 'GALLERY_BUSY'
  | 'GALLERY_EMPTY'
  | 'PERSON_NOT_FOUND'
  | 'PERSON_EXISTS'
  | 'FACE_NOT_FOUND'
  /** No stored calibration for the model (or for the false-accept rate asked for). */
  | 'CALIBRATION_NOT_FOUND'
  /** Too few impostor pairs or probes to estimate the asked false-accept rate. */
  | 'CALIBRATION_TOO_FEW'
  | 'CLUSTER_NOT_FOUND'
  /** A photo that had to show one face shows none, or several. */
  | 'NO_FACE'
  | 'MULTIPLE_FACES'
  /** Video: no ffmpeg binary at the given path, in the npm package or on PATH. */
  | 'FFMPEG_NOT_FOUND'
  /** Video: ffmpeg could not open the source (no such file, refused connection, no such device). */
  | 'SOURCE_UNOPENABLE'
  /** Video: the source opened but its data cannot be decoded (not a video, truncated, damaged). */
  | 'STREAM_CORRUPT'
  /** Video: ffmpeg failed while writing the annotated output. */
  | 'ENCODER_FAILED'
  /** HTTP service: the inference queue is full (answered 503 with Retry-After). */
  | 'BUSY'
  /** HTTP service: the request ran past its time limit. */
  | 'TIMEOUT'
  /** HTTP service: no API key, or one that is unknown or revoked. */
  | 'UNAUTHENTICATED'
  /** HTTP service: the key's role may not do this. */
  | 'FORBIDDEN'
  | 'KEY_NOT_FOUND'
  /** HTTP service: no such route. */
  | 'NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  /** A bug or a crashed worker: not the input's fault. */
  | 'INTERNAL';

/** The one error class facekit throws; `file` and `field` say what the problem concerns. */
export class FaceKitError extends Error {
  readonly code: FaceKitErrorCode;
  readonly file?: string;
  readonly field?: string;

  constructor(code: FaceKitErrorCode, message: string, where: { file?: string; field?: string; cause?: unknown } = {}) {
    super(
      where.file ? `${where.file}: ${message}` : message,
      where.cause === undefined ? undefined : { cause: where.cause },
    );
    this.name = 'FaceKitError';
    this.code = code;
    if (where.file !== undefined) this.file = where.file;
    if (where.field !== undefined) this.field = where.field;
  }
}

export function invalidArgument(field: string, message: string): FaceKitError {
  return new FaceKitError('INVALID_ARGUMENT', `${field}: ${message}`, { field });
}
