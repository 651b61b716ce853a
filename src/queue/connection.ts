/** Redis connections for the job queue, from the redis:// URL users give as --queue. */
import { invalidArgument } from '../errors.js';

/** The queue photo enrolment jobs go through. */
export const ENROLL_QUEUE = 'facekit-enroll';
/** The queue of analysis jobs: photos in, faces with descriptors out (what `cluster --queue` spreads). */
export const ANALYZE_QUEUE = 'facekit-analyze';
/** The queue of photo-index jobs: photos in, every face stored unlabelled in the gallery's photo index. */
export const INDEX_QUEUE = 'facekit-index';
/** The queue of camera and stream jobs: one source each, watched until stopped. */
export const WATCH_QUEUE = 'facekit-watch';

export interface RedisConnection {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  readonly db?: number;
  readonly tls?: object;
  /** BullMQ workers block on Redis; ioredis must not give up on their commands. */
  readonly maxRetriesPerRequest: null;
}

/** A redis:// or rediss:// URL as connection options; INVALID_ARGUMENT naming `field` otherwise. */
export function redisConnection(url: string, field = 'queue'): RedisConnection {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalidArgument(field, `not a redis:// URL: ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw invalidArgument(field, `not a redis:// URL: ${JSON.stringify(url)}`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  if (db !== undefined && !(Number.isInteger(db) && db >= 0))
    throw invalidArgument(field, `the database in ${JSON.stringify(u.pathname)} must be a number`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db !== undefined ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}
