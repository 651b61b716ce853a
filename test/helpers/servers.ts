/**
 * Real PostgreSQL and Redis servers for tests, started on loopback in a temporary folder and
 * stopped when the test file ends. When the binaries are missing (a machine without Debian's
 * postgresql / redis-server packages) `startPostgres`/`startRedis` return a reason to skip with.
 * PostgreSQL refuses to run as root: as root, the cluster is made and run as the `postgres` user.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';

export interface PostgresServer {
  /** postgres://… of the server's `postgres` database, for creating databases. */
  readonly adminUrl: string;
  /** A new empty database on the server; its URL. */
  database(): Promise<string>;
  /** Kills the server (SIGKILL of the postmaster: tests of lost connections) and starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** A port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function postgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0], 'bin') : null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a throw-away PostgreSQL, or says why it cannot. */
export async function startPostgres(): Promise<PostgresServer | string> {
  const bin = postgresBin();
  if (bin === null) return 'PostgreSQL is not installed (apt-get install postgresql): skipping the PostgreSQL tests';
  const asRoot = userInfo().uid === 0;
  let uid = -1;
  let gid = -1;
  if (asRoot) {
    try {
      uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    } catch {
      return 'running as root and there is no postgres user to run PostgreSQL as: skipping the PostgreSQL tests';
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'facekit-pg-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  chmodSync(dir, 0o755);
  if (asRoot) {
    chownSync(dir, uid, gid);
    chownSync(data, uid, gid);
  }
  const opts = asRoot ? { uid, gid } : {};
  const run = (cmd: string, args: string[]) =>
    execFileSync(join(bin, cmd), args, { ...opts, stdio: 'pipe', env: { ...process.env, LC_ALL: 'C' } });
  try {
    run('initdb', ['-D', data, '-U', 'facekit', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return `initdb failed (${(e as { stderr?: Buffer }).stderr?.toString().trim() ?? String(e)}): skipping the PostgreSQL tests`;
  }
  const port = await freePort();
  let child: ChildProcess | null = null;
  const base = `postgres://facekit@127.0.0.1:${port}`;
  const start = async () => {
    child = spawn(
      join(bin, 'postgres'),
      ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
      { ...opts, stdio: 'ignore' },
    );
    for (let i = 0; i < 200; i++) {
      try {
        execFileSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
        return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error('PostgreSQL did not start within 10 s');
  };
  const kill = async (signal: NodeJS.Signals) => {
    const c = child as ChildProcess | null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
  };
  await start();
  let n = 0;
  const { default: pg } = await import('pg');
  const stop = async () => {
    await kill('SIGINT');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', () => {
    (child as ChildProcess | null)?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    adminUrl: `${base}/postgres`,
    async database() {
      const name = `t${process.pid}_${n++}`;
      const c = new pg.Client({ connectionString: `${base}/postgres` });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return `${base}/${name}`;
    },
    async restart() {
      await kill('SIGKILL');
      // The postmaster's children notice it died and exit; the shared memory is freed with them.
      await sleep(300);
      rmSync(join(data, 'postmaster.pid'), { force: true });
      await start();
    },
    stop,
  };
}

/**
 * A PostgreSQL for the calling test file: started in `before`, stopped in `after`. `skipped(t)` skips
 * test `t` with the reason (printed once) when the server could not start; `server()` is the running one.
 */
export function postgresForTests(): {
  readonly skipped: (t: { skip(message?: string): void }) => boolean;
  readonly server: () => PostgresServer;
} {
  let server: PostgresServer | null = null;
  let reason: string | false = 'PostgreSQL not started';
  before(async () => {
    const s = await startPostgres();
    if (typeof s === 'string') {
      reason = s;
      console.log(`# ${s}`);
    } else {
      server = s;
      reason = false;
    }
  });
  after(async () => server?.stop());
  const skipped = (t: { skip(message?: string): void }): boolean => {
    if (reason) t.skip(reason);
    return reason !== false;
  };
  return { skipped, server: () => server as PostgresServer };
}

function redisBin(): string | null {
  for (const p of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) if (existsSync(p)) return p;
  return null;
}

/** Starts a throw-away Redis (no persistence), or says why it cannot. */
export async function startRedis(): Promise<RedisServer | string> {
  const bin = redisBin();
  if (bin === null) return 'redis-server is not installed (apt-get install redis-server): skipping the Redis tests';
  const dir = mkdtempSync(join(tmpdir(), 'facekit-redis-'));
  const port = await freePort();
  const child = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  for (let i = 0; i < 200 && !/Ready to accept connections/.test(out); i++) {
    if (child.exitCode !== null) break;
    await sleep(25);
  }
  if (!/Ready to accept connections/.test(out)) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    return `redis-server did not start (${out.trim().split('\n').pop() ?? ''}): skipping the Redis tests`;
  }
  process.once('exit', () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The PostgreSQL and Redis a queue test file uses: null until started; `skip` says why tests cannot run. */
export interface QueueServers {
  pg: PostgresServer | null;
  redis: RedisServer | null;
  skip: string | false;
}

/** Starts PostgreSQL and Redis before the file's tests and stops them after (call at the top level). */
export function queueServers(): QueueServers {
  const s: QueueServers = { pg: null, redis: null, skip: 'servers not started' };
  before(async () => {
    const [p, r] = await Promise.all([startPostgres(), startRedis()]);
    if (typeof p !== 'string') s.pg = p;
    if (typeof r !== 'string') s.redis = r;
    s.skip = typeof p === 'string' ? p : typeof r === 'string' ? r : false;
    if (s.skip) console.log(`# ${s.skip}`);
  });
  after(async () => {
    await s.pg?.stop();
    await s.redis?.stop();
  });
  return s;
}

/**
 * Starts a `facekit worker` process (from the sources, lock `lockMs`) and kills it with SIGKILL
 * once it has taken a job (`settleMs` after it says it is taking jobs) or once `finished()` says
 * the jobs are done already. Returns the killed process.
 */
export async function killWorkerMidJob(
  queue: string,
  db: string,
  finished: () => Promise<boolean>,
  settleMs = 300,
  lockMs = 1500,
): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--queue', queue, '--db', db, '--lock-ms', String(lockMs)],
    { stdio: ['ignore', 'ignore', 'pipe'], env: process.env },
  );
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  try {
    for (let i = 0; i < 600; i++) {
      if (await finished()) break;
      if (/taking jobs/.test(err)) {
        await new Promise((r) => setTimeout(r, settleMs));
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    child.kill('SIGKILL');
  }
  return child;
}
