/**
 * What the gallery accepts, checked the same way whichever store holds it and before anything is
 * written: person names, metadata, descriptors.
 */
import { FaceKitError, invalidArgument } from '../errors.js';
import type { Metadata, MetadataPatch } from './store.js';

/** People names are labels people type; anything longer is a mistake (a path, a pasted paragraph). */
export const MAX_NAME_LENGTH = 200;

/** A person's name as stored: trimmed, non-empty, printable, of a sane length. */
export function checkName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string') throw invalidArgument(field, 'a person name must be a string');
  const trimmed = name.trim();
  if (trimmed === '') throw invalidArgument(field, 'a person name cannot be empty');
  if (trimmed.length > MAX_NAME_LENGTH)
    throw invalidArgument(
      field,
      `a person name is at most ${MAX_NAME_LENGTH} characters (this one has ${trimmed.length})`,
    );
  // eslint-disable-next-line no-control-regex
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this check refuses.
  if (/[\u0000-\u001f\u007f]/.test(trimmed))
    throw invalidArgument(field, 'a person name cannot hold control characters (newlines, tabs)');
  return trimmed;
}

function checkJson(value: object, field: string): void {
  try {
    JSON.stringify(value);
  } catch (cause) {
    throw new FaceKitError('INVALID_ARGUMENT', `${field}: cannot be stored as JSON (${(cause as Error).message})`, {
      field,
      cause,
    });
  }
}

function checkPlainObject(value: unknown, field: string): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalidArgument(field, 'must be a plain object');
  if (Object.keys(value).some((k) => k.trim() === '')) throw invalidArgument(field, 'keys cannot be empty');
  checkJson(value, field);
}

export function checkMetadata(metadata: unknown, field = 'metadata'): Metadata {
  if (metadata === undefined) return {};
  checkPlainObject(metadata, field);
  return metadata;
}

/** A patch: keys set to null are removed, others set; an empty patch changes nothing and is refused as a likely mistake. */
export function checkMetadataPatch(patch: unknown, field = 'metadata'): MetadataPatch {
  checkPlainObject(patch, field);
  if (Object.keys(patch).length === 0)
    throw invalidArgument(field, 'nothing to change: give keys to set, or keys set to null to remove');
  return patch;
}

/** `metadata` with `patch` applied (null removes a key). */
export function applyMetadataPatch(metadata: Metadata, patch: MetadataPatch): Metadata {
  const out: Metadata = { ...metadata };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = value;
  }
  return out;
}

/** A descriptor a gallery can hold: a non-empty Float32Array of finite numbers. */
export function checkDescriptor(d: unknown, field: string): Float32Array {
  if (!(d instanceof Float32Array))
    throw invalidArgument(field, 'must be a Float32Array (give { descriptor, ... } per face)');
  if (d.length === 0) throw invalidArgument(field, 'is empty: a descriptor holds at least one value');
  for (let i = 0; i < d.length; i++)
    if (!Number.isFinite(d[i])) throw invalidArgument(field, `holds a non-finite value (${d[i]}) at ${i}`);
  return d;
}
