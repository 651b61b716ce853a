import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Whether a process with this id exists (EPERM: it does, under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes `<file>.<pid>.tmp` files that a process killed mid-save left beside `file` (they are
 * never renamed into place, and would stay forever). A live process's file is kept: it may be
 * writing it now. Best effort: a folder that cannot be listed or a file that cannot be removed is left.
 */
export function removeStaleTempFiles(file: string): void {
  const prefix = `${basename(file)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(file));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = name.slice(prefix.length, -'.tmp'.length);
    if (!/^[1-9][0-9]*$/.test(pid) || alive(Number(pid))) continue;
    rmSync(join(dirname(file), name), { force: true });
  }
}
