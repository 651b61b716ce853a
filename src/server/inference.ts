/**
 * The service's inference scheduler: a fixed set of worker threads and a bounded queue in front
 * of them. A photo is handed to an idle worker at once, else waits in the queue; when the queue is
 * full it is refused (BUSY, answered 503 with Retry-After) rather than piling up a backlog whose
 * every request would time out anyway.
 */
import { Worker } from 'node:worker_threads';
import { FaceKitError } from '../errors.js';
import type { FromWorker, PhotoJob, PhotoResult, StageTimes, ToWorker, WorkerSetup } from './inference-protocol.js';
import type { ServeLimits } from './limits.js';

export interface PoolEvents {
  /** A photo's time per pipeline stage, once it is analysed. */
  onStages?(stages: StageTimes): void;
  /** A photo refused because the queue was full. */
  onRejected?(): void;
}

interface Pending {
  readonly id: number;
  readonly job: PhotoJob;
  readonly resolve: (r: PhotoResult) => void;
  readonly reject: (e: unknown) => void;
  readonly timer: NodeJS.Timeout;
  /** Set once a worker holds it. */
  slot?: Slot;
  settled: boolean;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  exited: boolean;
  current?: Pending;
  /** When the worker took `current` (performance.now()). */
  startedAt?: number;
}

/** Time a worker gets to release its sessions before it is terminated. */
const WORKER_CLOSE_GRACE_MS = 2000;
/** Before a first photo has been timed, Retry-After assumes this much per photo (a 640-px photo end to end, one thread). */
const INITIAL_SERVICE_MS = 100;
/** Weight of the newest photo in the running mean of service time. */
const SERVICE_EWMA_WEIGHT = 0.1;

/** Built: dist/server/inference-worker.js. Under tsx (tests, benchmarks) a worker thread does not inherit tsx's loader, so it registers it first. */
function newWorker(setup: WorkerSetup): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./inference-worker.js', import.meta.url), { workerData: setup });
  const url = new URL('./inference-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url)}); })`;
  return new Worker(boot, { eval: true, workerData: setup });
}

export class InferencePool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Pending[] = [];
  private nextId = 1;
  private closing = false;
  private started?: Promise<void>;
  private serviceMs = INITIAL_SERVICE_MS;
  private startFailure?: FaceKitError;

  readonly workers: number;
  readonly queueLimit: number;
  /** Longest expected wait for a queued photo, as a share of one analysis. */
  private readonly queueWait: number;
  private readonly timeoutMs: number;
  private readonly refusalDelayMs: number;

  constructor(
    limits: Pick<ServeLimits, 'workers' | 'queue' | 'queueWait' | 'timeoutMs' | 'refusalDelayMs'>,
    private readonly setup: WorkerSetup,
    private readonly events: PoolEvents = {},
  ) {
    this.workers = limits.workers;
    this.queueLimit = limits.queue;
    this.queueWait = limits.queueWait;
    this.timeoutMs = limits.timeoutMs;
    this.refusalDelayMs = limits.refusalDelayMs;
  }

  /** Starts the workers; resolves once each has opened its pipeline (what /readyz waits for). */
  start(): Promise<void> {
    this.started ??= Promise.all(Array.from({ length: this.workers }, () => this.spawn())).then(() => undefined);
    return this.started;
  }

  get ready(): boolean {
    return this.slots.length === this.workers && this.slots.every((s) => s.ready) && !this.closing;
  }

  /** Photos waiting for a worker. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Photos being analysed. */
  get running(): number {
    return this.slots.filter((s) => s.current).length;
  }

  /**
   * True when a photo sent now would be refused: every worker busy, and the queue full or the
   * photo's expected wait past queueWait analyses.
   */
  get saturated(): boolean {
    return this.refuses(false);
  }

  /** `admitted`: a further photo of a request already let in, held to the queue's count only. */
  private refuses(admitted: boolean): boolean {
    if (this.slots.some((s) => s.ready && !s.current)) return false;
    if (this.waiting.length >= this.queueLimit) return true;
    return !admitted && this.expectedWaitMs() > this.queueWait * this.serviceMs;
  }

  /**
   * Milliseconds a photo queued now would wait for a worker: each busy worker is expected to free
   * up one mean analysis after it started; the photo takes the k-th of those ends, k photos being
   * queued ahead of it. 0 while no worker is ready yet (start-up: the queue count alone bounds it).
   */
  private expectedWaitMs(): number {
    const now = performance.now();
    const ends = this.slots
      .filter((s) => s.ready && !s.exited && s.current)
      .map((s) => Math.max(0, this.serviceMs - (now - (s.startedAt ?? now))))
      .sort((a, b) => a - b);
    if (ends.length === 0) return 0;
    const k = this.waiting.length;
    return ends[k % ends.length] + Math.floor(k / ends.length) * this.serviceMs;
  }

  /**
   * Refuses a photo sent while saturated: BUSY (503 with Retry-After), answered refusalDelayMs
   * later. Clients that retry at once rather than after Retry-After otherwise turn overload into a
   * stream of refusals (2,000 a second from 8 clients in bench:server, a third of a core of HTTP
   * work for the server and as much for the clients) that takes the cores the workers need; held
   * a moment, a refusal costs a timer.
   */
  async refuse(): Promise<never> {
    this.events.onRejected?.();
    const error = new FaceKitError(
      'BUSY',
      `every inference worker is busy and the queue is full (${this.waiting.length} of ${this.queueLimit} photos waiting, or a wait longer than ${this.queueWait} of an analysis): retry later`,
    );
    if (this.refusalDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.refusalDelayMs));
    throw error;
  }

  /** Seconds a refused client should wait: the queue's expected drain time, at least one. */
  retryAfterSeconds(): number {
    const ms = ((this.waiting.length + this.workers) * this.serviceMs) / this.workers;
    return Math.max(1, Math.ceil(ms / 1000));
  }

  private spawn(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const slot: Slot = { worker: newWorker(this.setup), ready: false, exited: false };
      this.slots.push(slot);
      slot.worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          slot.ready = true;
          resolve();
          this.dispatch();
        } else if (m.type === 'start-failed') {
          this.startFailure = new FaceKitError(m.error.code, `inference worker: ${m.error.message}`);
          reject(this.startFailure);
        } else {
          this.finish(slot, m);
        }
      });
      slot.worker.on('error', (e) => {
        if (!slot.ready)
          this.startFailure ??= new FaceKitError('INTERNAL', `inference worker failed to start: ${e.message}`, {
            cause: e,
          });
        this.crash(slot, e);
      });
      slot.worker.on('exit', (code) => {
        slot.exited = true;
        if (!slot.ready) reject(this.startFailure ?? new FaceKitError('INTERNAL', `inference worker exited (${code})`));
        else if (!this.closing) this.crash(slot, new Error(`exited with code ${code}`));
      });
    });
  }

  /** A crashed worker fails only the photo it held; a fresh worker takes its place. */
  private crash(slot: Slot, cause: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0 || this.closing || !slot.ready) return;
    this.slots.splice(i, 1);
    void slot.worker.terminate();
    const p = slot.current;
    slot.current = undefined;
    if (p) this.settle(p, new FaceKitError('INTERNAL', `inference worker stopped: ${cause.message}`, { cause }));
    this.spawn().catch(() => undefined);
  }

  private finish(slot: Slot, m: Extract<FromWorker, { type: 'done' | 'failed' }>): void {
    const p = slot.current;
    slot.current = undefined;
    if (p && p.id === m.id) {
      if (m.type === 'done') {
        const total = Object.values(m.result.stages).reduce((a, b) => a + (b ?? 0), 0);
        this.serviceMs += SERVICE_EWMA_WEIGHT * (total - this.serviceMs);
        this.events.onStages?.(m.result.stages);
        this.settle(p, m.result);
      } else {
        const error = m.error;
        this.settle(p, new FaceKitError(error.code, error.message, error.field ? { field: error.field } : {}));
      }
    }
    this.dispatch();
  }

  private settle(p: Pending, outcome: PhotoResult | Error): void {
    if (p.settled) return;
    p.settled = true;
    clearTimeout(p.timer);
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome);
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.current || slot.exited) continue;
      const p = this.waiting.shift();
      if (!p) return;
      slot.current = p;
      slot.startedAt = performance.now();
      p.slot = slot;
      const message: ToWorker = { type: 'job', id: p.id, job: p.job };
      slot.worker.postMessage(message, [p.job.bytes.buffer as ArrayBuffer]);
    }
  }

  /**
   * Analyses one photo. BUSY when every worker is busy and the queue is full; TIMEOUT when the
   * answer is not there in time (a photo still waiting is dropped; one being analysed finishes
   * in its worker, unheard). `job.bytes` is moved to the worker: the caller must not reuse it.
   * `admitted`: the photo belongs to a request whose first photo was let in (verify's second side,
   * an enrolment's next photo): only the queue's count bounds it, so a request is never refused
   * halfway by the wait bound, nor by its own first photo.
   */
  analyze(job: PhotoJob, cancel?: AbortSignal, admitted = false): Promise<PhotoResult> {
    if (this.closing) return Promise.reject(new FaceKitError('DISPOSED', 'the service is shutting down'));
    if (this.startFailure) return Promise.reject(this.startFailure);
    if (this.refuses(admitted)) return this.refuse();
    return new Promise<PhotoResult>((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(p);
        if (at >= 0) this.waiting.splice(at, 1);
        this.settle(p, new FaceKitError('TIMEOUT', `the photo was not analysed within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const p: Pending = { id, job, resolve, reject, timer, settled: false };
      // A client that went away would never read the answer: its photo leaves the queue, so
      // abandoned requests (client timeouts, load generators stopping) are not analysed for nobody.
      cancel?.addEventListener(
        'abort',
        () => {
          const at = this.waiting.indexOf(p);
          if (at < 0) return;
          this.waiting.splice(at, 1);
          this.settle(p, new FaceKitError('TIMEOUT', 'the client closed the connection before the photo was analysed'));
        },
        { once: true },
      );
      this.waiting.push(p);
      this.dispatch();
    });
  }

  /** Lets every accepted photo finish, then stops the workers. */
  async close(): Promise<void> {
    if (this.closing) return;
    await this.drained();
    this.closing = true;
    const exits = this.slots
      .filter((s) => !s.exited)
      .map(
        (s) =>
          new Promise<void>((resolve) => {
            s.worker.once('exit', () => resolve());
            const message: ToWorker = { type: 'close' };
            s.worker.postMessage(message);
          }),
      );
    const grace = new Promise<void>((resolve) => setTimeout(resolve, WORKER_CLOSE_GRACE_MS).unref());
    await Promise.race([Promise.all(exits), grace]);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private async drained(): Promise<void> {
    while (this.waiting.length > 0 || this.slots.some((s) => s.current && !s.current.settled)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
