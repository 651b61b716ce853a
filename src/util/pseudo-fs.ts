import { statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { invalidArgument } from '../errors.js';

/**
 * Kernel file systems that hold no files of ours: Node's recursive mkdir under /proc spins at
 * 100 % CPU forever (the kernel answers neither EEXIST nor ENOENT as it expects), and nothing
 * written there would be kept. Magic numbers from linux/magic.h.
 */
const PSEUDO_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x73636673, 'securityfs'],
  [0x1cd1, 'devpts'],
]);

/**
 * INVALID_ARGUMENT naming `field` when `path`, or the nearest folder above it that exists, lies
 * on a kernel pseudo file system (/proc, /sys...). Checked before any mkdir or open for writing.
 */
export function checkNotPseudoFs(path: string, field: string): void {
  let at = resolve(path);
  for (;;) {
    let type: number;
    try {
      type = Number(statfsSync(at).type);
    } catch {
      const up = dirname(at);
      if (up === at) return;
      at = up;
      continue;
    }
    const name = PSEUDO_FILE_SYSTEMS.get(type);
    if (name !== undefined)
      throw invalidArgument(field, `${path} is on ${name}, a kernel file system that cannot hold files`);
    return;
  }
}
