/** facekit/server: the HTTP service (`facekit serve`) as a library: createService and its options. */
export { createService, defaultLimits } from '../server/index.js';
export type { ServeLimits, ServeOptions, Service } from '../server/index.js';
