/** Every failure as `{ error: { code, message, field? } }` with the HTTP status its FaceKitError code means. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { FaceKitError, type FaceKitErrorCode } from '../errors.js';

const STATUS: Partial<Record<FaceKitErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  EMPTY_INPUT: 400,
  CORRUPT_IMAGE: 400,
  MODEL_MISMATCH: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  PERSON_NOT_FOUND: 404,
  FACE_NOT_FOUND: 404,
  KEY_NOT_FOUND: 404,
  CLUSTER_NOT_FOUND: 404,
  CALIBRATION_NOT_FOUND: 404,
  PERSON_EXISTS: 409,
  GALLERY_EMPTY: 409,
  PAYLOAD_TOO_LARGE: 413,
  IMAGE_TOO_LARGE: 413,
  NOT_AN_IMAGE: 415,
  UNSUPPORTED_FORMAT: 415,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NO_FACE: 422,
  MULTIPLE_FACES: 422,
  CALIBRATION_TOO_FEW: 422,
  BUSY: 503,
  TIMEOUT: 503,
  GALLERY_BUSY: 503,
  DISPOSED: 503,
};

export function statusOf(code: FaceKitErrorCode): number {
  return STATUS[code] ?? 500;
}

/** Fastify's and its plugins' own failures (parsing, limits, validation) as FaceKitErrors. */
export function fromFastify(e: FastifyError): FaceKitError {
  if (e.validation) {
    const first = e.validation[0];
    const where = e.validationContext ?? 'body';
    const path = first?.instancePath ? first.instancePath.slice(1).replaceAll('/', '.') : '';
    const params = (first?.params ?? {}) as { missingProperty?: string; additionalProperty?: string };
    const named = params.missingProperty ?? params.additionalProperty;
    const field = named === undefined ? path || where : path ? `${path}.${named}` : named;
    const message =
      params.additionalProperty !== undefined ? 'is not a field this route takes' : (first?.message ?? e.message);
    return new FaceKitError('INVALID_ARGUMENT', `${field}: ${message} (${where})`, { field });
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new FaceKitError('INVALID_ARGUMENT', `body: not valid JSON (${e.message})`, { field: 'body' });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
    case 'FST_PARTS_LIMIT':
      return new FaceKitError('PAYLOAD_TOO_LARGE', `body: ${e.message}`, { field: 'body' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new FaceKitError('UNSUPPORTED_MEDIA_TYPE', `content-type: ${e.message}`, { field: 'content-type' });
    default:
      break;
  }
  const status = e.statusCode ?? 500;
  if (status === 413) return new FaceKitError('PAYLOAD_TOO_LARGE', e.message);
  if (status === 415) return new FaceKitError('UNSUPPORTED_MEDIA_TYPE', e.message);
  if (status === 503) return new FaceKitError('DISPOSED', e.message);
  if (status >= 400 && status < 500) return new FaceKitError('INVALID_ARGUMENT', e.message);
  return new FaceKitError('INTERNAL', e.message, { cause: e });
}

export function errorBody(e: FaceKitError): { error: { code: string; message: string; field?: string } } {
  return { error: { code: e.code, message: e.message, ...(e.field !== undefined ? { field: e.field } : {}) } };
}

/** Fastify's error handler: the JSON error body, the status, and Retry-After when busy. */
export function sendError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  retryAfter: () => number,
): void {
  const e = error instanceof FaceKitError ? error : fromFastify(error as FastifyError);
  const status = statusOf(e.code);
  if (status >= 500 && status !== 503) request.log.error({ err: error }, 'request failed');
  if (status === 503) reply.header('retry-after', String(retryAfter()));
  void reply.status(status).send(errorBody(e));
}
