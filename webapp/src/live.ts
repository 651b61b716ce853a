/**
 * Live: the webcam with names over faces. In the browser: detection on every frame, landmarks and
 * descriptors for new or due faces; only descriptors go to /v1/identify. The switch sends whole
 * frames (JPEG) to the server instead, for devices too weak to run the models.
 */
import { toImage } from 'facekit/browser';
import { identifyDescriptors, identifyPhoto } from './api.js';
import { Tracker } from './track.js';
import { drawFaces, el, guarded, labelOf, liveKit, showError } from './ui.js';

interface LiveStats {
  fps: number;
  frames: number;
  labels: string[];
  mode: 'browser' | 'server';
}

declare global {
  interface Window {
    /** What the page shows, for tests and the benchmark. */
    facekitLive?: LiveStats;
  }
}

export function livePage(root: HTMLElement): () => void {
  const video = el('video', { muted: true, playsInline: true, autoplay: true });
  const overlay = el('canvas', { className: 'overlay' });
  const start = el('button', { textContent: 'Start camera', id: 'live-start' });
  const serverMode = el('input', { type: 'checkbox', id: 'server-mode' });
  const stats = el('span', { className: 'stats', id: 'live-stats', textContent: 'camera off' });
  root.replaceChildren(
    el('h2', {}, 'Live'),
    el(
      'div',
      { className: 'row' },
      start,
      el('label', {}, serverMode, ' send frames to the server (weak devices)'),
      stats,
    ),
    el('div', { className: 'stage' }, video, overlay),
    el('p', { className: 'muted' }, 'Frames stay in this browser: only 128 numbers per face are sent to identify it.'),
  );
  let stream: MediaStream | undefined;
  let running = false;
  const tracker = new Tracker();
  const live: LiveStats = { fps: 0, frames: 0, labels: [], mode: 'browser' };
  window.facekitLive = live;

  const nextFrame = (): Promise<void> =>
    new Promise((resolve) => {
      if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(() => resolve());
      else requestAnimationFrame(() => resolve());
    });

  async function browserStep(): Promise<void> {
    const kit = liveKit();
    // One copy of the frame's pixels for every stage (each call on the <video> would read it again).
    const frame = toImage(video);
    const found = await kit.detect(frame);
    const due = tracker.update(
      found.map((d) => d.box),
      performance.now(),
    );
    if (due.length > 0) {
      const faces = await kit.landmarks(
        frame,
        due.map((d) => found[d.index]),
      );
      const descriptors = await kit.encode(frame, faces);
      for (const { track } of due) track.pending = true;
      // The answer lands a few frames later; detection does not wait for the network.
      identifyDescriptors(descriptors)
        .then((ids) =>
          ids.forEach((id, i) => {
            const t = due[i].track;
            t.label = labelOf(id.person, id.distance);
            t.known = id.person !== null;
          }),
        )
        .catch(showError)
        .finally(() => {
          for (const { track } of due) {
            track.pending = false;
            track.identifiedAt = performance.now();
          }
        });
    }
    const shown = tracker.visible();
    drawFaces(overlay, frame.width, frame.height, shown);
    live.labels = shown.map((t) => t.label);
  }

  const grab = el('canvas');
  async function serverStep(): Promise<void> {
    grab.width = video.videoWidth;
    grab.height = video.videoHeight;
    (grab.getContext('2d') as CanvasRenderingContext2D).drawImage(video, 0, 0);
    const jpeg = await new Promise<Blob>((resolve, reject) =>
      grab.toBlob((b) => (b ? resolve(b) : reject(new Error('the frame could not be encoded'))), 'image/jpeg', 0.85),
    );
    const ids = await identifyPhoto(jpeg);
    const shown = ids.flatMap((id) =>
      id.box ? [{ box: id.box, label: labelOf(id.person, id.distance), known: id.person !== null }] : [],
    );
    drawFaces(overlay, video.videoWidth, video.videoHeight, shown);
    live.labels = shown.map((s) => s.label);
  }

  async function loop(): Promise<void> {
    let windowStart = performance.now();
    let windowFrames = 0;
    while (running) {
      await nextFrame();
      if (!running) break;
      try {
        if (serverMode.checked) await serverStep();
        else await browserStep();
      } catch (e) {
        showError(e);
        // An error on every frame (no key, server down) should not spin the CPU.
        await new Promise((r) => setTimeout(r, 1000));
      }
      live.frames++;
      windowFrames++;
      const now = performance.now();
      if (now - windowStart >= 1000) {
        live.fps = (windowFrames * 1000) / (now - windowStart);
        windowStart = now;
        windowFrames = 0;
        stats.textContent = `${live.fps.toFixed(1)} fps · ${video.videoWidth}×${video.videoHeight} · ${serverMode.checked ? 'server' : 'in browser'}`;
      }
    }
  }

  serverMode.addEventListener('change', () => {
    live.mode = serverMode.checked ? 'server' : 'browser';
    tracker.tracks = [];
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
        await liveKit().warmUp();
      } finally {
        start.disabled = false;
      }
      running = true;
      start.textContent = 'Stop camera';
      void loop();
    }),
  );

  function stop(): void {
    running = false;
    for (const t of stream?.getTracks() ?? []) t.stop();
    stream = undefined;
    start.textContent = 'Start camera';
    stats.textContent = 'camera off';
  }
  return stop;
}
