import { parentPort, workerData } from 'node:worker_threads';
import { analyzeFile, cliKit, inputError, type FromWorker, type ToWorker, type WorkerSettings } from './pool.js';

/** One pool worker: owns one single-threaded FaceKit and analyses the files it is sent, one at a time. */
const port = parentPort;
if (!port) throw new Error('facekit: cli/worker.js runs only as a worker thread');

const settings = workerData as WorkerSettings;
const kit = cliKit(settings, settings.threads);
const post = (m: FromWorker): void => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  if (m.type === 'close') {
    void kit.dispose().finally(() => port.close());
    return;
  }
  analyzeFile(kit, m.file, settings.stage).then(
    (result) => post({ type: 'result', index: m.index, result }),
    (cause: unknown) => {
      const { code, message } = inputError(m.file, cause);
      post({ type: 'fatal', error: { code, message } });
    },
  );
});
post({ type: 'ready' });
