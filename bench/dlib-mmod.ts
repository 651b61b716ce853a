/**
 * dlib's own MMOD timings from the committed reference run (test/fixtures/dlib/mmod-detections-640.json,
 * tools/dlib-export/mmod_reference.cpp with one BLAS thread) for the benchmarks' ratio columns.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './common.js';

export interface DlibMmodTime {
  readonly file: string;
  readonly upsample: number;
  /** Wall clock of face_recognition's call (pyramid_up + net + rect_down), best of the tool's repeats. */
  readonly ms: number;
  /** The process's CPU time for it: on a shared machine, the time that does not count waiting for a core. */
  readonly cpuMs?: number;
  readonly faces: number;
}

interface Fixture {
  images: { file: string; runs: { upsample: number; ms: number; cpuMs?: number; detections: unknown[] }[] }[];
}

export function dlibMmodTimes(): DlibMmodTime[] {
  const fixture = JSON.parse(
    readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'dlib', 'mmod-detections-640.json'), 'utf8'),
  ) as Fixture;
  return fixture.images.flatMap((image) =>
    image.runs.map((r) => ({
      file: image.file,
      upsample: r.upsample,
      ms: r.ms,
      cpuMs: r.cpuMs,
      faces: r.detections.length,
    })),
  );
}

/** Median CPU milliseconds of `repeat` calls (after one warm-up): the process's user + system time. */
export async function cpuTime(fn: () => Promise<unknown>, repeat: number): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const c0 = process.cpuUsage();
    await fn();
    const c = process.cpuUsage(c0);
    ts.push((c.user + c.system) / 1000);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)] as number;
}
