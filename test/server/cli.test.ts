/**
 * `facekit keys` and `facekit serve` as users run them (the built CLI), and the gallery schema
 * step that adds the key table to a file made before it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { openGallery } from '../../src/gallery/gallery.js';
import { openSqliteStore, SCHEMA_VERSION } from '../../src/gallery/sqlite.js';
import { CLI, cliRunner } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const root = tempDir('facekit-serve-cli-');
const run = cliRunner(root, { FACEKIT_CACHE_DIR: join(root, 'cache') });
const NO_STACK = /^\s+at /m;

describe('facekit keys', () => {
  const db = join(root, 'keys.db');

  test('create prints the key once; only its hash is stored', async () => {
    const r = await run(['keys', 'create', '--role', 'admin', '--name', 'ops', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    const key = r.stdout.trim();
    assert.match(key, /^fk_[A-Za-z0-9_-]{43}$/);
    assert.match(r.stderr, /shown only this once/);
    const file = readFileSync(db);
    assert.equal(file.includes(Buffer.from(key)), false);
    const sql = new Database(db, { readonly: true });
    const row = sql.prepare('SELECT hash, role, name FROM api_keys').get() as {
      hash: string;
      role: string;
      name: string;
    };
    sql.close();
    assert.equal(row.hash, createHash('sha256').update(key).digest('hex'));
    assert.deepEqual([row.role, row.name], ['admin', 'ops']);
  });

  test('list shows keys by id, role and first characters; --json never holds a key or hash', async () => {
    await run(['keys', 'create', '--role', 'recognize', '--db', db]);
    const r = await run(['keys', 'list', '--db', db]);
    assert.equal(r.code, 0);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^1\tadmin\tfk_\S{8}…\tvalid\t/);
    const j = JSON.parse((await run(['keys', 'list', '--json', '--db', db])).stdout);
    assert.equal(j.keys.length, 2);
    for (const k of j.keys)
      assert.deepEqual(Object.keys(k).sort(), ['createdAt', 'id', 'name', 'revokedAt', 'role', 'shown']);
  });

  test('revoke marks a key revoked; an unknown id is KEY_NOT_FOUND', async () => {
    const r = await run(['keys', 'revoke', '2', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^2\trecognize\t.*revoked /);
    const store = openSqliteStore(db);
    assert.equal((await store.keys.list())[1].revokedAt !== null, true);
    await store.close();
    const missing = await run(['keys', 'revoke', '99', '--db', db, '--json']);
    assert.equal(missing.code, 1);
    assert.equal(JSON.parse(missing.stdout).error.code, 'KEY_NOT_FOUND');
    assert.doesNotMatch(missing.stderr, NO_STACK);
  });

  test('usage errors: no role, an unknown role, revoke without id, a bad id', async () => {
    for (const args of [
      ['keys', 'create'],
      ['keys', 'create', '--role', 'boss'],
      ['keys', 'revoke'],
      ['keys', 'revoke', 'x'],
      ['keys', 'rotate'],
    ]) {
      const r = await run([...args, '--db', db]);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /^facekit: /, args.join(' '));
      assert.doesNotMatch(r.stderr, NO_STACK);
    }
  });
});

describe('gallery schema 2', () => {
  test('a schema-1 file gains the key, thumbnail and photo-index tables; its people and faces are kept', async () => {
    const db = join(root, 'old.db');
    const g = await openGallery({ path: db });
    await g.enroll('Ada', [{ descriptor: new Float32Array(128).fill(0.1) }]);
    await g.close();
    // Make it what facekit wrote before schema 2.
    const sql = new Database(db);
    sql.exec('DROP TABLE api_keys; DROP TABLE face_thumbnails; DROP TABLE indexed_faces; DROP TABLE indexed_photos;');
    sql.pragma('user_version = 1');
    sql.close();
    const store = openSqliteStore(db);
    const { key } = await store.keys.create('recognize');
    assert.ok(await store.keys.find(createHash('sha256').update(key).digest('hex')));
    assert.equal((await store.people())[0].name, 'Ada');
    assert.deepEqual(await store.photoIndexStats(), { photos: 0, faces: 0, photosWithoutFaces: 0 });
    await store.close();
    const check = new Database(db, { readonly: true });
    assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    check.close();
  });
});

describe('facekit serve', () => {
  test('bad flags are refused before anything starts', async () => {
    for (const args of [
      ['serve', '--port', '70000'],
      ['serve', '--workers', '0'],
      ['serve', '--max-pixels', 'many'],
      ['serve', '--queue-wait', '-1'],
      ['serve', '--refusal-delay', 'soon'],
      ['serve', '--embedder', 'nobody', '--db', join(root, 'never.db')],
    ]) {
      const r = await run(args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, /^facekit: /);
      assert.doesNotMatch(r.stderr, NO_STACK);
    }
    assert.match((await run(['serve', '--embedder', 'nobody'])).stderr, /unknown embedder "nobody"/);
  });

  test('serves on loopback, answers health checks and keys, and exits 0 on SIGTERM', async () => {
    const db = join(root, 'serve.db');
    const key = (await run(['keys', 'create', '--role', 'recognize', '--db', db])).stdout.trim();
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--workers', '1', '--db', db], {
      cwd: root,
      env: { ...process.env, FACEKIT_CACHE_DIR: join(root, 'cache') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        log += d.toString();
        const m = / on (http:\/\/127\.0\.0\.1:\d+) /.exec(log);
        if (m && log.includes('ready:')) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${log}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      assert.equal((await fetch(`${url}/v1/people`)).status, 401);
      const people = await fetch(`${url}/v1/people`, { headers: { 'x-api-key': key } });
      assert.deepEqual(await people.json(), { people: [] });
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
    assert.match(log, /SIGTERM: finishing the requests in flight/);
  });
});
