import { parentPort, workerData } from 'node:worker_threads';
import {
  analyzeFile,
  batchKit,
  type FromWorker,
  inputError,
  inputName,
  type ToWorker,
  type WorkerSettings,
} from './batch.js';

/** One pool worker: owns one single-threaded FaceKit and analyses the files it is sent, one at a time. */
const port = parentPort;
if (!port) throw new Error('facekit: pipeline/worker.js runs only as a worker thread');

const settings = workerData as WorkerSettings;
const kit = batchKit(settings, settings.threads);
const post = (m: FromWorker): void => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  if (m.type === 'close') {
    void kit.dispose().finally(() => port.close());
    return;
  }
  analyzeFile(kit, m.input, settings.stage).then(
    (result) => post({ type: 'result', index: m.index, result }),
    (cause: unknown) => {
      const { code, message } = inputError(inputName(m.input), cause);
      post({ type: 'fatal', error: { code, message } });
    },
  );
});
post({ type: 'ready' });
