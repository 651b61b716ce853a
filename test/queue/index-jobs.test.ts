/**
 * Photo-index jobs (`facekit index --queue`) on a real Redis with a real PostgreSQL gallery, both
 * started here on loopback: two workers, every photo indexed once (copies, re-submissions and
 * overlapping submissions included), unreadable photos reported, and a worker killed mid-job
 * (kill -9) loses nothing committed while another finishes its job.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { type Gallery, openGallery } from '../../src/gallery/gallery.js';
import { PG_NAMESPACE } from '../../src/gallery/postgres.js';
import { indexProgress, submitIndexJobs, waitForIndexJobs } from '../../src/queue/index-jobs.js';
import { startIndexWorker } from '../../src/queue/worker.js';
import { runIndex } from '../../src/cli/index-photos.js';
import { isolatedCacheDir, samplePath } from '../helpers/photos.js';
import { killWorkerMidJob, type PostgresServer, queueServers, type RedisServer } from '../helpers/servers.js';
import { tempDir } from '../helpers/temp.js';

isolatedCacheDir();
const settings = { detector: 'tiny' as const, stage: 'analyze' as const, retryOnMiss: false };
const servers = queueServers();

const photos = tempDir('facekit-index-queue-');
function folder(name: string, samples: number[]): string[] {
  mkdirSync(join(photos, name), { recursive: true });
  return samples.map((n, i) => {
    const f = join(photos, name, `${i}-${n}.jpg`);
    copyFileSync(samplePath(n), f);
    return f;
  });
}

/** Rows of the photo index as stored, read behind the store's back. */
async function indexedRows(url: string): Promise<{ hashes: string[]; faces: number }> {
  const c = new pg.Client({ connectionString: url, options: `-c search_path=${PG_NAMESPACE}` });
  await c.connect();
  try {
    const hashes = (await c.query('SELECT content_hash FROM indexed_photos')).rows.map((r) => r.content_hash as string);
    const faces = Number((await c.query('SELECT count(*) AS n FROM indexed_faces')).rows[0].n);
    return { hashes, faces };
  } finally {
    await c.end();
  }
}

describe('photo-index jobs on Redis', () => {
  test('two workers: every photo indexed once (a copy, a re-submission, an overlapping submission); unreadable photos named', async (t) => {
    if (servers.skip) return t.skip(servers.skip);
    const url = await (servers.pg as PostgresServer).database();
    const queue = (servers.redis as RedisServer).url;
    const galleries: Gallery[] = [await openGallery({ path: url }), await openGallery({ path: url })];
    const workers = await Promise.all(
      galleries.map((gallery) => startIndexWorker({ queueUrl: queue, gallery, concurrency: 2 })),
    );
    try {
      const files = folder('archive', [1, 2, 3, 1]); // the last: a copy of the first, other name
      const broken = join(photos, 'archive', 'broken.jpg');
      writeFileSync(broken, 'not a JPEG');
      const options = { gallery: galleries[0].file, files: [...files, broken], settings, jobPhotos: 2 };
      const first = await submitIndexJobs(queue, options);
      assert.equal(first.jobIds.length, 3);
      const done = await waitForIndexJobs(queue, first.jobIds);
      assert.deepEqual([done.done, done.failed], [3, 0]);
      assert.equal(done.photosIndexed, 3, JSON.stringify(done));
      assert.equal(done.alreadyIndexed, 1, 'the copy is the same photo');
      assert.deepEqual(
        done.unreadable.map((e) => e.file),
        [broken],
      );
      const rows = await indexedRows(url);
      assert.equal(rows.hashes.length, 3);
      assert.equal(new Set(rows.hashes).size, 3);
      assert.equal(rows.faces, done.facesStored);
      assert.ok(done.facesStored >= 3);

      const again = await submitIndexJobs(queue, options);
      assert.deepEqual(again.jobIds, first.jobIds, 'the same jobs: nothing queued twice');
      // Other slices (other job ids) of the same photos: run, and store nothing.
      const overlap = await submitIndexJobs(queue, { ...options, jobPhotos: 1 });
      const p = await waitForIndexJobs(queue, overlap.jobIds);
      assert.deepEqual([p.photosIndexed, p.facesStored, p.alreadyIndexed], [0, 0, 4]);
      assert.deepEqual(await indexedRows(url), rows);

      // The CLI's --queue path, followed to the end, over the same workers.
      const more = folder('more', [4]);
      const code = await runIndex(more, {
        queue,
        db: url,
        model: 'tiny',
        retry: false,
        json: true,
        quiet: true,
      });
      assert.equal(code, 0);
      assert.equal((await indexedRows(url)).hashes.length, 4);
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(galleries.map((g) => g.close()));
    }
  });

  test('kill -9 of a worker mid-job: another takes the job after the lock expires; nothing indexed twice, nothing lost', async (t) => {
    if (servers.skip) return t.skip(servers.skip);
    const url = await (servers.pg as PostgresServer).database();
    const queue = (servers.redis as RedisServer).url;
    const files = folder('killed', [1, 2, 3, 4, 5, 1, 2, 3]);
    const gallery = await openGallery({ path: url });
    const sub = await submitIndexJobs(queue, { gallery: gallery.file, files, settings, jobPhotos: files.length });
    try {
      await killWorkerMidJob(queue, url, async () => (await indexProgress(queue, sub.jobIds)).done > 0, 400);
      const worker = await startIndexWorker({ queueUrl: queue, gallery, lockMs: 1500 });
      try {
        const p = await waitForIndexJobs(queue, sub.jobIds);
        assert.equal(p.done, 1);
        const rows = await indexedRows(url);
        assert.equal(rows.hashes.length, 5, 'five distinct photos, each indexed once');
        assert.equal(new Set(rows.hashes).size, 5);
        assert.equal((await gallery.photoIndexStats()).photos, 5);
      } finally {
        await worker.close();
      }
    } finally {
      await gallery.close();
    }
  });
});
