import { FaceKitError } from '../errors.js';
import { buildModel, inspectModel } from './cache.js';
import type { ModelId } from './registry.js';

/** What a user sees while the networks are built from the npm weights; said once, before the wait. */
export const BUILDING_MESSAGE = 'building models (once per machine)…';

/**
 * Builds the models a run will open before it starts, so the wait is announced rather than
 * silent, and so parallel workers never build the same file at once. Returns the ms spent, 0
 * when everything was already cached.
 */
export async function ensureModels(
  ids: readonly ModelId[],
  announce: (message: string) => void,
  warn: (message: string) => void,
): Promise<number> {
  const states = await Promise.all(ids.map((id) => inspectModel(id)));
  const todo = ids.filter((_, i) => states[i].state !== 'ready');
  if (todo.length === 0) return 0;
  announce(BUILDING_MESSAGE);
  const start = performance.now();
  for (const id of todo) {
    try {
      await buildModel(id);
    } catch (cause) {
      if (!(cause instanceof FaceKitError && cause.code === 'FILE_UNWRITABLE')) throw cause;
      // The run still works: each session builds its model in memory, only more slowly.
      warn(`${cause.message}; the models are built in memory on every run`);
      break;
    }
  }
  return performance.now() - start;
}
