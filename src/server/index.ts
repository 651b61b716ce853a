export { createService } from './app.js';
export type { Service, ServeOptions } from './app.js';
export { defaultLimits } from './limits.js';
export type { ServeLimits } from './limits.js';
