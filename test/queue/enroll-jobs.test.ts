/**
 * Jobs on a real Redis (BullMQ) with a real PostgreSQL gallery, both started here on loopback.
 * Enrolment: jobs split per person, taken by workers, idempotent (a re-submission adds no job, a
 * photo stored already is not enrolled again), and a worker killed mid-job (kill -9) loses
 * nothing. Analysis (`cluster --queue`): results come back in order and a re-run reuses them.
 * Cameras (`watch --queue`): one source per worker, taken over after a kill -9, stopped on request.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Queue, Worker } from 'bullmq';
import { FaceKitError } from '../../src/errors.js';
import { type Gallery, openGallery } from '../../src/gallery/gallery.js';
import { ENROLL_QUEUE, redisConnection } from '../../src/queue/connection.js';
import { enrollProgress, submitEnrollJobs, waitForJobs } from '../../src/queue/enroll-jobs.js';
import { startAnalyzeWorker, startEnrollWorker } from '../../src/queue/worker.js';
import { analysisResults, analyzeProgress, submitAnalyzeJobs, waitForAnalysis } from '../../src/queue/analyze-jobs.js';
import { cameraEvents, cameraStatus, stopWatchJobs, submitWatchJobs, watchJobId } from '../../src/queue/watch-jobs.js';
import { startWatchWorker } from '../../src/queue/watch-worker.js';
import { hashFile } from '../../src/pipeline/enroll.js';
import { analyzeFiles } from '../../src/pipeline/batch.js';
import { runWatch } from '../../src/cli/watch.js';
import { runCluster } from '../../src/cli/cluster.js';
import { findFfmpeg } from '../../src/video/ffmpeg.js';
import { isolatedCacheDir, samplePath } from '../helpers/photos.js';
import { killWorkerMidJob, type PostgresServer, queueServers, type RedisServer } from '../helpers/servers.js';
import { tempDir } from '../helpers/temp.js';

isolatedCacheDir();
const run = promisify(execFile);
const code = (c: string) => (e: unknown) => e instanceof FaceKitError && e.code === c;
const settings = { detector: 'tiny' as const, stage: 'analyze' as const, retryOnMiss: false };
const servers = queueServers();

const photos = tempDir('facekit-queue-photos-');
function folder(name: string, samples: number[]): string[] {
  mkdirSync(join(photos, name), { recursive: true });
  return samples.map((n, i) => {
    const f = join(photos, name, `${i}-${n}.jpg`);
    copyFileSync(samplePath(n), f);
    return f;
  });
}

describe('enrolment jobs on Redis', () => {
  test('bad queue URLs and job sizes are refused naming the field', async () => {
    assert.throws(() => redisConnection('http://127.0.0.1:6379'), code('INVALID_ARGUMENT'));
    assert.throws(() => redisConnection('redis://h/x'), code('INVALID_ARGUMENT'));
    assert.deepEqual(redisConnection('redis://u:p%40@h:7/2'), {
      host: 'h',
      port: 7,
      username: 'u',
      password: 'p@',
      db: 2,
      maxRetriesPerRequest: null,
    });
    await assert.rejects(
      submitEnrollJobs('redis://127.0.0.1:1', { gallery: 'g', people: [], settings, largest: true, jobPhotos: 0 }),
      code('INVALID_ARGUMENT'),
    );
  });

  test('progress never counts a finished job without its result (jobs finishing while progress is read)', async (t) => {
    if (servers.skip) return t.skip(servers.skip);
    // The race behind a once-flaky "copy is a duplicate": a job read while active and found
    // 'completed' a moment later counted as done with 0 added and 0 duplicates. It showed in
    // about 1 round in 20 before the fix; 40 rounds catch it almost surely.
    const connection = redisConnection((servers.redis as RedisServer).url);
    const queue = new Queue(ENROLL_QUEUE, { connection });
    const worker = new Worker(
      ENROLL_QUEUE,
      async () => {
        await new Promise((r) => setTimeout(r, Math.random() * 20));
        return { added: 1, duplicates: 0, rejected: [] };
      },
      { connection, concurrency: 4 },
    );
    try {
      for (let round = 0; round < 40; round++) {
        const ids = [0, 1, 2].map((i) => `race-${round}-${i}`);
        await queue.addBulk(ids.map((jobId) => ({ name: 'enroll', data: {}, opts: { jobId } })));
        for (;;) {
          const p = await enrollProgress((servers.redis as RedisServer).url, ids);
          if (p.done < ids.length) continue;
          assert.equal(p.added, ids.length, `round ${round}: every finished job's result counted`);
          break;
        }
      }
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  test('progress of a large submission reads each finished job once (a memo across polls), in chunks', async (t) => {
    if (servers.skip) return t.skip(servers.skip);
    const url = (servers.redis as RedisServer).url;
    const connection = redisConnection(url);
    const queue = new Queue(ENROLL_QUEUE, { connection });
    const worker = new Worker(ENROLL_QUEUE, async () => ({ added: 1, duplicates: 0, rejected: [] }), {
      connection,
      concurrency: 50,
    });
    try {
      // More ids than one read chunk (500), so the chunked read is exercised.
      const ids = Array.from({ length: 1200 }, (_, i) => `memo-${i}`);
      await queue.addBulk(ids.map((jobId) => ({ name: 'enroll', data: {}, opts: { jobId } })));
      const memo = new Map();
      let p = await enrollProgress(url, ids, memo);
      while (p.done < ids.length) p = await enrollProgress(url, ids, memo);
      assert.equal(p.added, ids.length);
      await worker.close();
      // With the jobs gone from Redis, the memo still answers: nothing finished is read again ...
      await queue.obliterate({ force: true });
      const remembered = await enrollProgress(url, ids, memo);
      assert.deepEqual([remembered.done, remembered.added], [ids.length, ids.length]);
      // ... while a fresh read finds none, so the count above came from the memo, not from Redis.
      const fresh = await enrollProgress(url, ids);
      assert.equal(fresh.done, 0);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  test('a folder split into jobs, taken by two workers: each photo enrolled once, re-submission is a no-op, a copy is a duplicate', async (t) => {
    if (servers.skip) return t.skip(servers.skip);
    const url = await (servers.pg as PostgresServer).database();
    const queue = (servers.redis as RedisServer).url;
    const galleries: Gallery[] = [await openGallery({ path: url }), await openGallery({ path: url })];
    const workers = await Promise.all(galleries.map((gallery) => startEnrollWorker({ queueUrl: queue, gallery })));
    try {
      const people = [
        { name: 'ann', files: folder('ann', [1, 2]) },
        { name: 'bob', files: folder('bob', [3]) },
      ];
      const options = { gallery: galleries[0].file, people, settings, largest: true, jobPhotos: 1 };
      const first = await submitEnrollJobs(queue, options);
      assert.equal(first.jobIds.length, 3);
      const done = await waitForJobs(queue, first.jobIds);
      assert.deepEqual([done.done, done.failed], [3, 0]);
      assert.equal(done.added + done.rejected.length, 3);
      const again = await submitEnrollJobs(queue, options);
      assert.deepEqual(again.jobIds, first.jobIds, 'the same jobs: nothing queued twice');
      const copy = folder('cy', [1]);
      const dup = await submitEnrollJobs(queue, { ...options, people: [{ name: 'cy', files: copy }] });
      const p = await waitForJobs(queue, dup.jobIds);
      assert.deepEqual(
        [p.added, p.duplicates],
        [0, 1],
        `the same bytes under another name are not enrolled again (copy job: ${JSON.stringify(p)}; first run rejected: ${JSON.stringify(done.rejected)})`,
      );
      const stats = await galleries[0].store.stats();
      assert.equal(stats.faces, done.added);
      // A job for another gallery is refused without retries.
      const other = await submitEnrollJobs(queue, { ...options, gallery: 'postgres://elsewhere/db' });
      const refused = await waitForJobs(queue, other.jobIds);
      assert.equal(refused.failed, 3);
      assert.match(refused.errors[0].message, /this worker writes/);
    } finally {
      for (const w of workers) await w.close();
      for (const g of galleries) await g.close();
    }
  });

  test('kill -9 of a worker mid-job: another takes its job after the lock expires; nothing is lost or enrolled twice', async (t) => {
    if (servers.skip) return t.skip(servers.skip);
    const url = await (servers.pg as PostgresServer).database();
    const queue = (servers.redis as RedisServer).url;
    const people = [{ name: 'dee', files: folder('dee', [1, 2, 3, 4, 5, 6]) }];
    const gallery = await openGallery({ path: url });
    const sub = await submitEnrollJobs(queue, { gallery: gallery.file, people, settings, largest: true, jobPhotos: 6 });
    try {
      // Killed once it holds the job (active), before it can finish it.
      await killWorkerMidJob(queue, url, async () => (await enrollProgress(queue, sub.jobIds)).done > 0);
      const worker = await startEnrollWorker({ queueUrl: queue, gallery, lockMs: 1500 });
      try {
        const p = await waitForJobs(queue, sub.jobIds);
        assert.equal(p.done, 1);
        const faces = await gallery.faces();
        const hashes = faces.map((f) => f.contentHash);
        assert.equal(new Set(hashes).size, hashes.length, 'no photo enrolled twice');
        assert.equal(faces.length + p.rejected.length, 6, 'every photo enrolled or reported');
      } finally {
        await worker.close();
      }
    } finally {
      await gallery.close();
    }
  });

  test('analysis jobs (cluster --queue): faces come back in photo order as analysed locally; a re-run reuses finished jobs', async (t) => {
    if (servers.skip) return t.skip(servers.skip);
    const queue = (servers.redis as RedisServer).url;
    const files = folder('archive', [1, 2, 3]);
    const photos = await Promise.all(files.map(async (file) => ({ file, hash: await hashFile(file) })));
    await assert.rejects(
      submitAnalyzeJobs(queue, { photos, settings: { ...settings, stage: 'detect' } }),
      code('INVALID_ARGUMENT'),
    );
    await assert.rejects(analysisResults(queue, ['analyze-nosuchjob']), code('INVALID_ARGUMENT'));
    const worker = await startAnalyzeWorker({ queueUrl: queue });
    try {
      const sub = await submitAnalyzeJobs(queue, { photos, settings, jobPhotos: 2 });
      assert.equal(sub.jobIds.length, 2);
      const p = await waitForAnalysis(queue, sub.jobIds);
      assert.deepEqual([p.done, p.failed, p.photos], [2, 0, 3]);
      const results = await analysisResults(queue, sub.jobIds);
      const local: Awaited<ReturnType<typeof analysisResults>> = [];
      await analyzeFiles(settings, undefined, files, (r) => local.push(r));
      assert.deepEqual(
        results.map((r) => r.file),
        files,
      );
      results.forEach((r, i) => {
        const l = local[i];
        assert.ok(r.ok && l.ok, `${r.file} analysed`);
        assert.equal(r.faces.length, l.faces.length);
        r.faces.forEach((f, k) => assert.deepEqual(f.descriptor, l.faces[k].descriptor));
      });
      // Submitted again (the submitter was stopped, or another threshold): nothing left to run.
      const again = await submitAnalyzeJobs(queue, { photos, settings, jobPhotos: 2 });
      assert.deepEqual(again.jobIds, sub.jobIds);
      const now = await analyzeProgress(queue, again.jobIds);
      assert.equal(now.done, 2, 'finished jobs found at once, not run again');
    } finally {
      await worker.close();
    }
  });

  test('facekit cluster --queue: workers analyse, the command clusters and saves the run; a bad queue URL names --queue', async (t) => {
    if (servers.skip) return t.skip(servers.skip);
    const url = await (servers.pg as PostgresServer).database();
    const queue = (servers.redis as RedisServer).url;
    const files = folder('cq', [1, 3, 2]);
    const worker = await startAnalyzeWorker({ queueUrl: queue });
    const cli = (args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: process.env }).then(
        (r) => ({ code: 0, ...r }),
        (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
      );
    try {
      const out = await cli([
        'cluster',
        join(photos, 'cq'),
        '--queue',
        queue,
        '--db',
        url,
        '--job-photos',
        '2',
        '--json',
      ]);
      assert.equal(out.code, 0, out.stderr);
      const json = JSON.parse(out.stdout);
      const clustered = json.clusters.flatMap((c: { faces: { file: string }[] }) => c.faces.map((f) => f.file));
      assert.ok(clustered.length >= files.length, `every photo's faces clustered: ${out.stdout}`);
      assert.deepEqual(json.errors, []);
      const gallery = await openGallery({ path: url });
      try {
        assert.equal((await gallery.clusterRun(json.run)).faces.length, clustered.length, 'the run is saved');
      } finally {
        await gallery.close();
      }
      // Refused before any job is queued, naming the option (in process: a second CLI start costs seconds).
      await assert.rejects(
        runCluster([join(photos, 'cq')], { db: url, queue: 'http://x', threshold: 0.5, model: 'tiny' }),
        (e: unknown) => code('INVALID_ARGUMENT')(e) && /--queue: not a redis:\/\/ URL/.test((e as Error).message),
      );
    } finally {
      await worker.close();
    }
  });

  test('watch --queue refuses what a worker cannot do, and needs --db', async () => {
    const base = { every: 3, model: 'tiny' as const, threads: 1, queue: 'redis://127.0.0.1:1' };
    await assert.rejects(runWatch('cam', { ...base }), code('INVALID_ARGUMENT'));
    await assert.rejects(runWatch('cam', { ...base, db: 'postgres://x/y', out: 'a.mp4' }), code('INVALID_ARGUMENT'));
    await assert.rejects(
      runWatch('cam', { ...base, queue: 'http://x', db: 'postgres://x/y' }),
      code('INVALID_ARGUMENT'),
    );
    await assert.rejects(
      runWatch('cam', { every: 3, model: 'tiny', threads: 1, stop: true }),
      code('INVALID_ARGUMENT'),
    );
    await assert.rejects(
      submitWatchJobs('redis://127.0.0.1:1', { gallery: 'g', sources: [], settings: { detector: 'tiny' } }),
      code('INVALID_ARGUMENT'),
    );
  });

  test('a camera handed to workers: kill -9 of its worker → another takes it over and finishes it; a stop ends it', async (t) => {
    if (servers.skip) return t.skip(servers.skip);
    const url = await (servers.pg as PostgresServer).database();
    const queue = (servers.redis as RedisServer).url;
    // A 12-s, 10-fps "camera" (a file: it ends, so the test can see the takeover run to its end).
    const video = join(photos, 'camera.mp4');
    await run((await findFfmpeg()).path, [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-loop',
      '1',
      '-i',
      samplePath(3),
      '-t',
      '12',
      '-r',
      '10',
      '-vf',
      'scale=320:-2',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      video,
    ]);
    const gallery = await openGallery({ path: url });
    // Someone to recognise: a camera on an empty gallery is refused (GALLERY_EMPTY).
    const enrolled: Awaited<ReturnType<typeof analysisResults>> = [];
    await analyzeFiles(settings, undefined, [samplePath(1)], (r) => enrolled.push(r));
    const face = enrolled[0].ok ? enrolled[0].faces[0] : assert.fail('sample 1 analysed');
    await gallery.enroll('alice', [{ descriptor: face.descriptor as Float32Array, box: face.box, score: face.score }]);
    const settingsW = { detector: 'tiny' as const, every: 3 };
    const { jobIds } = await submitWatchJobs(queue, { gallery: gallery.file, sources: [video], settings: settingsW });
    assert.deepEqual(jobIds, [watchJobId(gallery.file, video)]);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--cameras', '--queue', queue, '--db', url, '--lock-ms', '1500'],
      { stdio: ['ignore', 'ignore', 'pipe'], env: process.env },
    );
    child.stderr.resume();
    const opened = async (n: number) => {
      for (let i = 0; i < 1200; i++) {
        const events = (await cameraEvents(queue, jobIds[0])) as { type: string }[];
        if (events.filter((e) => e.type === 'source-opened').length >= n) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.fail(`the camera was not opened ${n} time(s)`);
    };
    const finished = async (id: string) => {
      for (let i = 0; i < 1200; i++) {
        const [status] = await cameraStatus(queue, [id]);
        if (status.state === 'completed' || status.state === 'failed') return status;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(`camera job ${id} did not finish`);
    };
    try {
      await opened(1);
      child.kill('SIGKILL');
      const worker = await startWatchWorker({ queueUrl: queue, gallery, lockMs: 1500 });
      try {
        let status = await finished(jobIds[0]);
        assert.equal(status.state, 'completed', status.failedReason);
        assert.ok(status.attempts >= 2, `taken over: attempts ${status.attempts}`);
        assert.equal(status.result?.stopped, false);
        const events = (await cameraEvents(queue, jobIds[0])) as {
          type: string;
          source?: { fps: number; duration: number };
        }[];
        const source = events.find((e) => e.type === 'source-opened')?.source ?? assert.fail('no source-opened');
        assert.ok(
          Math.abs((status.result?.frames ?? 0) - source.fps * source.duration) <= 2,
          `the new worker watched the source to its end: ${status.result?.frames} frames`,
        );
        assert.equal(events.filter((e) => e.type === 'source-opened').length, 2);
        assert.equal(events.at(-1)?.type, 'summary');
        // Handed out again, then stopped while watched.
        await submitWatchJobs(queue, { gallery: gallery.file, sources: [video], settings: settingsW });
        // (its old job and log were replaced: the log starts again)
        await opened(1);
        await stopWatchJobs(queue, jobIds);
        status = await finished(jobIds[0]);
        assert.equal(status.state, 'completed');
        assert.equal(status.result?.stopped, true);
        assert.ok((status.result?.frames ?? Infinity) < source.fps * source.duration - 2, 'stopped before the end');
        // Another gallery's camera is refused without retries.
        const other = await submitWatchJobs(queue, {
          gallery: 'postgres://elsewhere/db',
          sources: [video],
          settings: settingsW,
        });
        const refused = await finished(other.jobIds[0]);
        assert.equal(refused.state, 'failed');
        assert.match(refused.failedReason ?? '', /this worker recognises from/);
        // The camera's own settings reach the worker's watch(): a bad one fails the job at once, named.
        await submitWatchJobs(queue, {
          gallery: gallery.file,
          sources: [video],
          settings: { ...settingsW, rtspTransport: 'pigeon' as 'tcp' },
        });
        const badSetting = await finished(jobIds[0]);
        assert.equal(badSetting.state, 'failed');
        assert.equal(badSetting.attempts, 1, 'a bad setting is not retried');
        assert.match(badSetting.failedReason ?? '', /rtspTransport/);
      } finally {
        await worker.close();
      }
    } finally {
      child.kill('SIGKILL');
      await gallery.close();
    }
  });
});
