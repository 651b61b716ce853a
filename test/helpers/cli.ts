/** Running the built `facekit` command in a child process, as the CLI tests do. */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

export const CLI = resolve('dist/cli/main.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A runner for the CLI in `cwd` (so printed paths are the short relative ones a test passes),
 * with `env` on top of this process's environment.
 */
export function cliRunner(
  cwd: string,
  env: Record<string, string>,
): (args: string[], extra?: Record<string, string>) => Promise<Run> {
  return (args, extra = {}) =>
    new Promise((done) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        { cwd, env: { ...process.env, ...env, ...extra }, maxBuffer: 64 << 20 },
        (error, stdout, stderr) => {
          done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
        },
      );
    });
}
