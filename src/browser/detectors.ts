import type { DetectOptions, FaceDetector } from '../detect/detector.js';
import { checkAdjustThreshold, checkUpsample, HogDetector } from '../detect/hog/detector.js';
import { MtcnnDetector, mtcnnSettings } from '../detect/mtcnn/detector.js';
import { SsdDetector } from '../detect/ssd.js';
import { checkInputSize, TINY_DEFAULT_INPUT_SIZE, TinyDetector } from '../detect/tiny.js';
import { invalidArgument } from '../errors.js';
import type { RuntimeOptions } from '../runtime/model-session.js';

/**
 * The detectors the browser build offers: the registry's (src/detect/registry.ts) less dlib's CNN,
 * whose options file is read from disk. The same runner classes as in Node; what this table adds
 * is only which of them exist here. `padding` is each one's registry default.
 */
export const BROWSER_DETECTORS = {
  tiny: {
    create: (runtime: RuntimeOptions): Promise<FaceDetector> => TinyDetector.create(runtime),
    check: (o: DetectOptions) => (o.inputSize === undefined ? undefined : checkInputSize(o.inputSize)),
    own: (o: DetectOptions): DetectOptions => ({ inputSize: o.inputSize ?? TINY_DEFAULT_INPUT_SIZE }),
    fivePoints: false,
    padding: undefined,
  },
  ssd: {
    create: (runtime: RuntimeOptions): Promise<FaceDetector> => SsdDetector.create(runtime),
    check: () => undefined,
    own: (): DetectOptions => ({}),
    fivePoints: false,
    padding: undefined,
  },
  mtcnn: {
    create: (runtime: RuntimeOptions): Promise<FaceDetector> => MtcnnDetector.create(runtime),
    check: (o: DetectOptions) => (o.mtcnn === undefined ? undefined : void mtcnnSettings({ mtcnn: o.mtcnn })),
    own: (o: DetectOptions): DetectOptions => ({ mtcnn: o.mtcnn }),
    fivePoints: true,
    padding: undefined,
  },
  hog: {
    create: (): Promise<FaceDetector> => HogDetector.create(),
    check: (o: DetectOptions) => {
      if (o.upsample !== undefined) checkUpsample(o.upsample);
      if (o.adjustThreshold !== undefined) checkAdjustThreshold(o.adjustThreshold);
    },
    own: (o: DetectOptions): DetectOptions => ({ upsample: o.upsample, adjustThreshold: o.adjustThreshold }),
    fivePoints: false,
    padding: 0,
  },
} as const;

export type BrowserDetectorName = keyof typeof BROWSER_DETECTORS;
export const BROWSER_DETECTOR_NAMES = Object.keys(BROWSER_DETECTORS) as BrowserDetectorName[];

export function checkBrowserDetector(value: unknown): BrowserDetectorName {
  if (typeof value === 'string' && Object.hasOwn(BROWSER_DETECTORS, value)) return value as BrowserDetectorName;
  throw invalidArgument(
    'detector',
    `unknown detector "${String(value)}" in the browser (use ${BROWSER_DETECTOR_NAMES.map((n) => `'${n}'`).join(', ')})`,
  );
}
