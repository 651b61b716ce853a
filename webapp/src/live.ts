/**
 * Live: the webcam with names over faces, drawn at camera rate. The models run in a worker
 * (live-worker.ts): the page sends it a frame whenever it is free — at once while a face is new
 * or drifting, every few frames while all is steady — and between its answers the tracker
 * (track.ts) carries every box forward frame by frame. A face is encoded when its track is
 * confirmed or gets a clearer view; only its 128 numbers go to /v1/identify. The switch sends whole
 * frames (JPEG) to the server instead, for devices too weak to run the models.
 */
import { WEB_EXECUTION_PROVIDERS, type WebExecutionProviderChoice, type WebRuntimeInfo } from 'facekit/browser';
import { identifyDescriptors, identifyPhoto } from './api.js';
import { InferenceWorker } from './live-client.js';
import { type LiveTrack, LiveTracker } from './track.js';
import { drawFaces, el, guarded, type Labelled, labelOf, showError } from './ui.js';
import { rememberUnknown } from './unknowns.js';

interface LiveStats {
  /** Frames drawn per second, each with its boxes carried to that frame. */
  fps: number;
  /** Detection passes per second (the worker's rate). */
  inferenceFps: number;
  frames: number;
  passes: number;
  labels: string[];
  mode: 'browser' | 'server';
  /** What the in-browser worker's models run on (absent until the camera starts). */
  runtime?: WebRuntimeInfo;
}

declare global {
  interface Window {
    /** What the page shows, for tests and the benchmark. */
    facekitLive?: LiveStats;
  }
}

/** While every track is steady, a detection pass runs on every n-th camera frame (saves CPU and battery). */
const STEADY_EVERY = 4;
/** Descriptors of one unknown face kept for the People page (different moments, different views). */
const UNKNOWN_PER_TRACK = 4;
const THUMBNAIL = 64;
/**
 * The threads choice: 'auto' is the kit's default, one fewer than the cores (1 on 2 cores, which a
 * busy 2-core machine needs); on an idle 2-core machine 2 threads took the pipeline's time per frame
 * from 158 to 98 ms (bench:browser), so the person at the machine may choose. (With steady faces the
 * page detects every 4th camera frame anyway; the choice shows where they move or the device is slow.)
 */
const THREAD_CHOICES: readonly string[] = ['auto', '1', '2', '4'];

/** How the stats line names the worker's runtime. */
function runtimeLabel(runtime: WebRuntimeInfo | undefined): string {
  if (!runtime) return 'in browser';
  if (runtime.executionProvider === 'webgpu') return `in browser, WebGPU (${runtime.adapter})`;
  return `in browser, ${runtime.threads} thread${runtime.threads === 1 ? '' : 's'}`;
}

export function livePage(root: HTMLElement): () => void {
  const video = el('video', { muted: true, playsInline: true, autoplay: true });
  const overlay = el('canvas', { className: 'overlay' });
  const start = el('button', { textContent: 'Start camera', id: 'live-start' });
  const serverMode = el('input', { type: 'checkbox', id: 'server-mode' });
  const threadsChoice = el(
    'select',
    { id: 'live-threads', title: 'onnxruntime threads for in-browser recognition (taken at camera start)' },
    ...THREAD_CHOICES.map((value) => el('option', { value, textContent: value })),
  );
  // 'auto': WebGPU where the device has a GPU (the networks in fp32), else wasm (int8): see live-options.ts.
  const engineChoice = el(
    'select',
    { id: 'live-engine', title: 'where in-browser recognition runs (taken at camera start)' },
    ...WEB_EXECUTION_PROVIDERS.map((value) => el('option', { value, textContent: value })),
  );
  const stats = el('span', { className: 'stats', id: 'live-stats', textContent: 'camera off' });
  root.replaceChildren(
    el('h2', {}, 'Live'),
    el(
      'div',
      { className: 'row' },
      start,
      el('label', {}, serverMode, ' send frames to the server (weak devices)'),
      el('label', {}, 'engine ', engineChoice),
      el('label', {}, 'threads ', threadsChoice),
      stats,
    ),
    el('div', { className: 'stage' }, video, overlay),
    el(
      'p',
      { className: 'muted' },
      'Frames stay in this browser: only 128 numbers per face are sent to identify it. Faces nobody is named for wait on the People page.',
    ),
  );
  let stream: MediaStream | undefined;
  let worker: InferenceWorker | undefined;
  let running = false;
  /** A detection pass (or a server request) is in flight: frames that come meanwhile are only drawn. */
  let busy = false;
  let frame = 0;
  let lastPass = -Infinity;
  let serverShown: Labelled[] = [];
  const tracker = new LiveTracker();
  const live: LiveStats = {
    fps: 0,
    inferenceFps: 0,
    frames: 0,
    passes: 0,
    labels: [],
    mode: 'browser',
  };
  window.facekitLive = live;

  const thumb = el('canvas', { width: THUMBNAIL, height: THUMBNAIL });
  function keepUnknown(track: LiveTrack, descriptor: Float32Array): void {
    if (track.keptUnknown >= UNKNOWN_PER_TRACK) return;
    track.keptUnknown++;
    const b = track.box;
    const g = thumb.getContext('2d') as CanvasRenderingContext2D;
    g.drawImage(video, b.x, b.y, b.width, b.height, 0, 0, THUMBNAIL, THUMBNAIL);
    rememberUnknown({ descriptor, thumbnail: thumb.toDataURL('image/jpeg', 0.8), seenAt: Date.now() });
  }

  function identify(due: readonly LiveTrack[], descriptors: readonly Float32Array[]): void {
    for (const t of due) t.pending = true;
    // The answer lands a few frames later; drawing and detection do not wait for the network.
    identifyDescriptors(descriptors)
      // Nobody enrolled yet: every face is unknown (and kept, to be named on the People page).
      .catch((e: { code?: string }) => {
        if (e.code === 'GALLERY_EMPTY') return descriptors.map(() => null);
        throw e;
      })
      .then((ids) =>
        ids.forEach((id, i) => {
          const t = due[i];
          t.label = id ? labelOf(id.person, id.distance) : 'unknown (nobody enrolled)';
          t.known = id !== null && id.person !== null;
          if (!t.known) keepUnknown(t, descriptors[i]);
        }),
      )
      .catch(showError)
      .finally(() => {
        for (const t of due) {
          t.pending = false;
          t.identifiedAt = performance.now();
        }
      });
  }

  async function browserPass(): Promise<void> {
    const w = worker as InferenceWorker;
    const detections = await w.detect(await createImageBitmap(video));
    const due = tracker.update(detections, performance.now());
    if (due.length === 0) return;
    const descriptors = await w.describe(due.map((d) => d.index));
    due.forEach((d) => {
      d.track.encodedScore = d.track.score;
    });
    identify(
      due.map((d) => d.track),
      descriptors,
    );
  }

  const grab = el('canvas');
  async function serverPass(): Promise<void> {
    grab.width = video.videoWidth;
    grab.height = video.videoHeight;
    (grab.getContext('2d') as CanvasRenderingContext2D).drawImage(video, 0, 0);
    const jpeg = await new Promise<Blob>((resolve, reject) =>
      grab.toBlob((b) => (b ? resolve(b) : reject(new Error('the frame could not be encoded'))), 'image/jpeg', 0.85),
    );
    const ids = await identifyPhoto(jpeg);
    serverShown = ids.flatMap((id) =>
      id.box ? [{ box: id.box, label: labelOf(id.person, id.distance), known: id.person !== null }] : [],
    );
  }

  /** Starts a pass on this frame unless one is running (a frame that cannot be taken now is dropped, never queued). */
  function maybePass(): void {
    const server = serverMode.checked;
    if (busy || (!server && !tracker.uncertain && frame - lastPass < STEADY_EVERY)) return;
    busy = true;
    lastPass = frame;
    (server ? serverPass() : browserPass())
      .then(() => {
        live.passes++;
        passesInWindow++;
      })
      .catch(async (e) => {
        if (!running) return;
        showError(e);
        // An error on every pass (no key, server down) should not spin the CPU.
        await new Promise((r) => setTimeout(r, 1000));
      })
      .finally(() => {
        busy = false;
      });
  }

  let windowStart = performance.now();
  let framesInWindow = 0;
  let passesInWindow = 0;
  function onFrame(): void {
    if (!running) return;
    frame++;
    let shown: Labelled[];
    if (serverMode.checked) shown = serverShown;
    else {
      tracker.predict();
      shown = tracker.shown();
    }
    drawFaces(overlay, video.videoWidth, video.videoHeight, shown);
    live.labels = shown.map((t) => t.label);
    maybePass();
    live.frames++;
    framesInWindow++;
    const now = performance.now();
    if (now - windowStart >= 1000) {
      live.fps = (framesInWindow * 1000) / (now - windowStart);
      live.inferenceFps = (passesInWindow * 1000) / (now - windowStart);
      windowStart = now;
      framesInWindow = 0;
      passesInWindow = 0;
      stats.textContent = `${live.fps.toFixed(1)} fps drawn · ${live.inferenceFps.toFixed(1)} passes/s · ${video.videoWidth}×${video.videoHeight} · ${serverMode.checked ? 'server' : runtimeLabel(live.runtime)}`;
    }
    requestFrame();
  }

  /** Once per new camera frame (requestVideoFrameCallback), else once per display frame. */
  function requestFrame(): void {
    if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(onFrame);
    else requestAnimationFrame(onFrame);
  }

  serverMode.addEventListener('change', () => {
    live.mode = serverMode.checked ? 'server' : 'browser';
    tracker.clear();
    serverShown = [];
  });
  start.addEventListener('click', () =>
    guarded(async () => {
      if (running) {
        stop();
        return;
      }
      if (!navigator.mediaDevices?.getUserMedia)
        throw new Error('this page has no camera access: open it over https or on localhost');
      start.disabled = true;
      stats.textContent = 'loading models…';
      try {
        stream = await navigator.mediaDevices.getUserMedia({
          video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' },
          audio: false,
        });
        video.srcObject = stream;
        await video.play();
        worker = new InferenceWorker();
        threadsChoice.disabled = true;
        engineChoice.disabled = true;
        live.runtime = await worker.warmUp(
          engineChoice.value as WebExecutionProviderChoice,
          threadsChoice.value === 'auto' ? undefined : Number(threadsChoice.value),
        );
      } catch (e) {
        stop();
        throw e;
      } finally {
        start.disabled = false;
      }
      running = true;
      start.textContent = 'Stop camera';
      requestFrame();
    }),
  );

  function stop(): void {
    running = false;
    worker?.terminate();
    worker = undefined;
    threadsChoice.disabled = false;
    engineChoice.disabled = false;
    busy = false;
    tracker.clear();
    // What the page shows is of this run: a restart (on another engine, say) starts from nothing.
    live.labels = [];
    live.runtime = undefined;
    for (const t of stream?.getTracks() ?? []) t.stop();
    stream = undefined;
    start.textContent = 'Start camera';
    stats.textContent = 'camera off';
  }
  return stop;
}
