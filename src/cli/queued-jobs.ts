/** What `enroll --queue` and `index --queue` say and do once their jobs are submitted. */
import { note, printJson } from './output.js';
import type { InputError } from './files.js';

export interface QueuedRun {
  readonly queue?: string;
  readonly wait?: boolean;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/**
 * Says where the jobs went and how to start workers; with --no-wait, also prints the --json
 * answer and returns the exit status (null: follow the jobs).
 */
export function announceJobs(
  opts: QueuedRun,
  gallery: string,
  submitted: { readonly jobIds: readonly string[]; readonly photos: number },
  errors: readonly InputError[],
): number | null {
  note(
    `${submitted.photos} photos in ${submitted.jobIds.length} jobs on ${opts.queue}; start workers with: facekit worker --queue ${opts.queue} --db ${gallery}`,
  );
  if (opts.wait !== false) return null;
  if (opts.json === true) printJson({ db: gallery, jobs: submitted.jobIds, photos: submitted.photos, errors });
  return errors.length > 0 ? 1 : 0;
}

/** A progress callback that notes each time another job finishes (not under --quiet or --json). */
export function jobsNote<P extends { readonly done: number; readonly failed: number; readonly total: number }>(
  opts: QueuedRun,
  what: (p: P) => string,
): (p: P) => void {
  let last = -1;
  return (q) => {
    if (q.done + q.failed !== last && opts.quiet !== true && opts.json !== true)
      note(`jobs: ${q.done + q.failed}/${q.total} finished (${what(q)})`);
    last = q.done + q.failed;
  };
}
