/**
 * The Live page's inference, off the page's thread: the page keeps drawing at camera rate (and
 * stays responsive) while a frame is being detected or faces encoded here. One frame at a time:
 * the page sends a new frame only when the last answer came back, so no stale frame queues up.
 */
import {
  type BrowserFaceKit,
  createFaceKit,
  type Detection,
  type Image,
  resolveExecutionProvider,
  toImage,
} from 'facekit/browser';
import type { LiveReply, LiveRequest } from './live-protocol.js';
import { liveKitOptions } from './live-options.js';

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<LiveRequest>) => void) | null;
  postMessage(message: LiveReply, transfer: Transferable[]): void;
};

/** Made by 'warm', the page's first request (its threads are the page's choice). */
let kit: BrowserFaceKit | undefined;
function started(): BrowserFaceKit {
  if (!kit) throw new Error('the inference worker was asked for a frame before it was started');
  return kit;
}
/** The frame last detected and what was found in it: what 'describe' encodes. */
let last: { image: Image; detections: Detection[] } | undefined;

async function answer(request: LiveRequest): Promise<LiveReply> {
  switch (request.type) {
    case 'warm': {
      if (kit) throw new Error('the inference worker is already started');
      const { executionProvider } = await resolveExecutionProvider(request.executionProvider, 'fp32');
      kit = createFaceKit({ ...liveKitOptions(executionProvider), threads: request.threads });
      return { id: request.id, ok: true, runtime: await kit.warmUp() };
    }
    case 'detect': {
      // One copy of the frame's pixels for detection and the encoding that may follow.
      const image = toImage(request.frame);
      request.frame.close();
      const detections = await started().detect(image);
      last = { image, detections };
      return { id: request.id, ok: true, detections: detections.map((d) => ({ box: d.box, score: d.score })) };
    }
    case 'describe': {
      if (!last) throw new Error('describe before any detect');
      const { image, detections } = last;
      const chosen = request.indices.map((i) => {
        const d = detections[i];
        if (!d) throw new Error(`no detection ${i} in the last frame (it had ${detections.length})`);
        return d;
      });
      const faceKit = started();
      const descriptors = await faceKit.encode(image, await faceKit.landmarks(image, chosen));
      return { id: request.id, ok: true, descriptors };
    }
  }
}

scope.onmessage = (event) => {
  const request = event.data;
  answer(request).then(
    (reply) =>
      scope.postMessage(
        reply,
        reply.ok && reply.descriptors ? reply.descriptors.map((d) => d.buffer as ArrayBuffer) : [],
      ),
    (e: unknown) =>
      scope.postMessage(
        {
          id: request.id,
          ok: false,
          code: (e as { code?: string }).code,
          message: (e as Error).message ?? String(e),
        },
        [],
      ),
  );
};
