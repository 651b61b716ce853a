import { invalidArgument } from '../errors.js';

/**
 * `value` as a descriptor: a typed array or array of finite numbers, not empty. Checked at the
 * public entries because arithmetic hides the mistake: a NaN makes every distance NaN and every
 * comparison false, strings subtract to NaN, and null fails deep inside as a TypeError.
 */
export function checkDescriptorLike(value: unknown, field: string): ArrayLike<number> {
  const isArrayLike = Array.isArray(value) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
  if (!isArrayLike) throw invalidArgument(field, `must be a descriptor (Float32Array or number[]), got ${kind(value)}`);
  const d = value as ArrayLike<unknown>;
  if (d.length === 0) throw invalidArgument(field, 'is empty: a descriptor holds at least one value');
  for (let i = 0; i < d.length; i++) {
    const x = d[i];
    if (typeof x !== 'number' || !Number.isFinite(x))
      throw invalidArgument(field, `holds ${typeof x === 'number' ? x : kind(x)} at ${i}: expected finite numbers`);
  }
  return d as ArrayLike<number>;
}

/** `value` as an array of descriptors, each checked. */
export function checkDescriptorList(value: unknown, field: string): ArrayLike<number>[] {
  if (!Array.isArray(value)) throw invalidArgument(field, `must be an array of descriptors, got ${kind(value)}`);
  return value.map((d, i) => checkDescriptorLike(d, `${field}[${i}]`));
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value === 'string' ? `the string ${JSON.stringify(value.slice(0, 20))}` : typeof value;
}
