import type { BrowserFaceKitOptions, WebExecutionProvider } from 'facekit/browser';

/**
 * The Live page's kit on `executionProvider`: tiny detector at 224 (a webcam face fills much of the frame, and the
 * detector's cost grows with the square of its input), no border (a face cut by the frame's edge
 * is rarely wanted, and the padded copy costs a frame-sized allocation), and the int8 encoder:
 * in onnxruntime-web it cut the whole pipeline's time per frame by about a third (bench:browser),
 * and its descriptors lie about 0.035 from fp32's (at most 0.062 in Node; LFW accuracy unchanged,
 * README "int8 precision"), far inside the 0.6 threshold, in the same descriptor space as the
 * server's fp32 gallery. The server builds the int8 model on the first Live start (seconds, once).
 * On WebGPU the networks run fp32: onnxruntime-web's WebGPU has no int8 convolutions.
 */
export function liveKitOptions(executionProvider: WebExecutionProvider): BrowserFaceKitOptions {
  return {
    detector: 'tiny',
    inputSize: 224,
    padding: 0,
    executionProvider,
    precision: executionProvider === 'webgpu' ? 'fp32' : 'int8',
  };
}
