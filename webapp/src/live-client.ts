/** The page's side of the inference worker: each request a promise, errors with the kit's code. */
import type { WebExecutionProviderChoice, WebRuntimeInfo } from 'facekit/browser';
import type { LiveReply, LiveRequest, WireDetection } from './live-protocol.js';

type Pending = { resolve: (reply: LiveReply & { ok: true }) => void; reject: (e: Error) => void };

/** Distributes the union over its members, so the id can be left off each kind of request. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

export class InferenceWorker {
  private readonly worker = new Worker(new URL('./live-worker.ts', import.meta.url), { type: 'module' });
  private readonly pending = new Map<number, Pending>();
  private next = 1;

  constructor() {
    this.worker.onmessage = (event: MessageEvent<LiveReply>) => {
      const reply = event.data;
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiting.resolve(reply);
      else waiting.reject(Object.assign(new Error(reply.message), { code: reply.code }));
    };
    // A worker that cannot even start (script failed to load) fails every request waiting on it.
    this.worker.onerror = (event) => this.failAll(new Error(`the inference worker failed: ${event.message}`));
  }

  private call(request: WithoutId<LiveRequest>, transfer: Transferable[] = []): Promise<LiveReply & { ok: true }> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id }, transfer);
    });
  }

  /** Opens the models on this provider with these threads (absent: the kit's default); what they run on. */
  async warmUp(executionProvider: WebExecutionProviderChoice, threads?: number): Promise<WebRuntimeInfo> {
    const { runtime } = await this.call({ type: 'warm', executionProvider, threads });
    if (!runtime) throw new Error("the inference worker's answer to 'warm' says nothing of its runtime");
    return runtime;
  }

  /** Faces in a frame (the bitmap is handed over to the worker and closed there). */
  async detect(frame: ImageBitmap): Promise<readonly WireDetection[]> {
    return (await this.call({ type: 'detect', frame }, [frame])).detections ?? [];
  }

  /** Descriptors of these detections of the frame last detected. */
  async describe(indices: readonly number[]): Promise<readonly Float32Array[]> {
    return (await this.call({ type: 'describe', indices })).descriptors ?? [];
  }

  private failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  terminate(): void {
    this.worker.terminate();
    this.failAll(new Error('the camera was stopped'));
  }
}
