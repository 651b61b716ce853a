/**
 * Crash safety for real: a child process enrolling people is SIGKILLed mid-run, three times over
 * the same gallery; every person it reported is there with all their faces, nobody is there
 * half-written, and SQLite's integrity check passes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { openSqliteStore } from '../../src/gallery/sqlite.js';
import { facesFor } from './crash-plan.js';

const root = mkdtempSync(join(tmpdir(), 'facekit-crash-'));
after(() => rmSync(root, { recursive: true, force: true }));
const CHILD = join(import.meta.dirname, 'enroll-child.ts');
/** Commits to wait for before the kill: enough that the child is deep in its loop, inside or between transactions. */
const COMMITS_BEFORE_KILL = 12;

/** Runs the child from person `start`, kills it after `commits` commits (plus a random few ms), returns the names it reported. */
function enrolUntilKilled(file: string, start: number, commits: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, file, String(start)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const reported: string[] = [];
    let buffer = '';
    let stderr = '';
    let killing = false;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() as string;
      for (const l of lines) reported.push(l.replace(/^committed /, ''));
      if (reported.length >= commits && !killing) {
        killing = true;
        // A little later than the last commit, so the kill lands at a different point of the next transaction each run.
        setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 15));
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(reported);
      else reject(new Error(`child exited on its own (code ${code}): ${stderr}`));
    });
  });
}

test('SIGKILL during enrolment loses no committed person and leaves no half-written one', {
  timeout: 120_000,
}, async () => {
  const file = join(root, 'crash.db');
  const reported: string[] = [];
  let start = 0;
  for (let run = 0; run < 3; run++) {
    reported.push(...(await enrolUntilKilled(file, start, COMMITS_BEFORE_KILL)));
    const s = openSqliteStore(file);
    try {
      assert.equal(await s.integrityCheck(), 'ok');
      const people = await s.people();
      const names = new Set(people.map((p) => p.name));
      for (const name of reported) assert.ok(names.has(name), `${name} was reported committed but is missing`);
      for (const p of people) {
        const i = Number(p.name.replace('person-', ''));
        assert.equal(p.faces, facesFor(i), `${p.name} has ${p.faces} of its ${facesFor(i)} faces`);
        assert.deepEqual(p.metadata, { i });
      }
      assert.equal(
        (await s.stats()).faces,
        people.reduce((sum, p) => sum + p.faces, 0),
      );
      start = Math.max(...people.map((p) => Number(p.name.replace('person-', '')))) + 1;
    } finally {
      await s.close();
    }
  }
  assert.ok(reported.length >= 3 * COMMITS_BEFORE_KILL);
});
