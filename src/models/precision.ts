import { invalidArgument } from '../errors.js';

// Browser-safe (no node: imports): the runners pick their model id here, in Node and in the browser alike.

/**
 * Arithmetic the compute-bound networks run in. 'fp32' is the reference (outputs match face-api's
 * within 1e-4); 'int8' runs the networks that have an int8 build quantized, faster and close to it.
 */
export type Precision = 'fp32' | 'int8';
export const PRECISIONS: readonly Precision[] = ['fp32', 'int8'];

/** The networks that have an int8 build, and its model id. */
const INT8_OF = {
  dlib_resnet128: 'dlib_resnet128_int8',
  ssd_mobilenetv1: 'ssd_mobilenetv1_int8',
} as const;
export type Int8Network = keyof typeof INT8_OF;
export type Int8ModelId = (typeof INT8_OF)[Int8Network];

/** The model to run for `network` at `precision`. */
export function modelFor(network: Int8Network, precision: Precision = 'fp32'): Int8Network | Int8ModelId {
  return precision === 'int8' ? INT8_OF[network] : network;
}

export function checkPrecision(value: unknown, field = 'precision'): Precision {
  if (typeof value === 'string' && (PRECISIONS as readonly string[]).includes(value)) return value as Precision;
  throw invalidArgument(
    field,
    `unknown precision "${String(value)}" (use ${PRECISIONS.map((p) => `'${p}'`).join(' or ')})`,
  );
}
