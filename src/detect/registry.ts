import { invalidArgument } from '../errors.js';
import { type ModelId, modelFor, type Precision } from '../models/registry.js';
import type { RuntimeOptions } from '../runtime/model-session.js';
import type { DetectOptions, FaceDetector } from './detector.js';
import {
  checkAdjustThreshold,
  checkUpsample,
  HOG_DEFAULT_ADJUST_THRESHOLD,
  HOG_DEFAULT_UPSAMPLE,
  HogDetector,
} from './hog/detector.js';
import { checkUpsample as checkMmodUpsample, MMOD_DEFAULT_UPSAMPLE, MmodDetector } from './mmod/detector.js';
import { MtcnnDetector, mtcnnSettings } from './mtcnn/detector.js';
import { SsdDetector } from './ssd.js';
import { checkInputSize, TINY_DEFAULT_INPUT_SIZE, TinyDetector } from './tiny.js';

/**
 * Everything the pipeline needs to know about one detector. Adding a detector is its builder in
 * models/, its runner in detect/, and one entry in DETECTORS below.
 */
export interface DetectorEntry {
  /** Opens the detector's sessions; the kit caches the promise per name. */
  readonly create: (runtime: RuntimeOptions) => Promise<FaceDetector>;
  /** Model ids the detector opens at `precision`, so a run can build them before it starts. */
  readonly models: (precision: Precision) => ModelId[];
  /**
   * Checks the options this detector owns (`detector`: the kit's own detector). Runs when a kit is
   * made, so a bad option fails at once rather than once per photo.
   */
  readonly checkOptions: (options: DetectOptions, detector: string) => void;
  /** The detector's own knobs out of a kit's options, with its defaults: what its first pass runs with. */
  readonly ownOptions: (options: DetectOptions) => DetectOptions;
  /**
   * Own knobs of each pass it makes in a `retryOnMiss` chain, in order; empty to stay out of the
   * chain. A pass equal to the kit's first pass is not repeated.
   */
  readonly retryPasses: readonly DetectOptions[];
  /** Finds five landmarks itself: a 'landmarks5' kit then skips the 68-point network. */
  readonly givesFivePoints: boolean;
  /**
   * Border the kit adds before this detector runs when the caller sets no `padding` (detect/pad.ts);
   * absent: DEFAULT_PADDING. dlib's ports say 0: they are checked box for box against dlib, and a
   * border would shift their pyramid grid.
   */
  readonly defaultPadding?: number;
  /** One line for CLI help and docs. */
  readonly summary: string;
}

/**
 * Tiny sizes a retry chain tries after face-api's default 416, in the order that rescued most LFW
 * misses: 320 sees close-up faces whole, 608 finds small ones, 224 very large ones.
 */
const TINY_RETRY_INPUT_SIZES = [TINY_DEFAULT_INPUT_SIZE, 320, 608, 224] as const;

/**
 * Every detector facekit has, in the order documentation lists them and a retry chain tries them:
 * on LFW MTCNN found 25 of the 26 faces that tiny at four sizes and SSD all missed, so it comes last.
 */
export const DETECTORS = {
  tiny: {
    create: (runtime) => TinyDetector.create(runtime),
    models: () => ['tiny_face_detector'],
    checkOptions: (options) => {
      if (options.inputSize !== undefined) checkInputSize(options.inputSize);
    },
    ownOptions: (options) => ({ inputSize: options.inputSize ?? TINY_DEFAULT_INPUT_SIZE }),
    retryPasses: TINY_RETRY_INPUT_SIZES.map((inputSize) => ({ inputSize })),
    givesFivePoints: false,
    summary: "'tiny' is fast",
  },
  ssd: {
    create: (runtime) => SsdDetector.create(runtime),
    models: (precision) => [modelFor('ssd_mobilenetv1', precision)],
    checkOptions: () => {},
    ownOptions: () => ({}),
    retryPasses: [{}],
    givesFivePoints: false,
    summary: "'ssd' finds more small and turned faces",
  },
  mtcnn: {
    create: (runtime) => MtcnnDetector.create(runtime),
    models: () => ['mtcnn_pnet', 'mtcnn_rnet', 'mtcnn_onet'],
    checkOptions: (options, detector) => {
      if (options.mtcnn === undefined) return;
      // Types rule this out; plain JavaScript callers get told instead of having the options ignored.
      if (detector !== 'mtcnn')
        throw invalidArgument('mtcnn', `MTCNN options need detector 'mtcnn', got '${detector}'`);
      mtcnnSettings({ mtcnn: options.mtcnn });
    },
    ownOptions: (options) => ({ mtcnn: options.mtcnn }),
    retryPasses: [{}],
    givesFivePoints: true,
    summary: "'mtcnn' finds small faces and gives 5 landmarks",
  },
  hog: {
    // dlib's frontal HOG detector in TypeScript on dlib's weights: no onnxruntime session, no model.
    create: () => HogDetector.create(),
    models: () => [],
    checkOptions: (options) => {
      if (options.upsample !== undefined) checkUpsample(options.upsample);
      if (options.adjustThreshold !== undefined) checkAdjustThreshold(options.adjustThreshold);
    },
    ownOptions: (options) => ({
      upsample: options.upsample ?? HOG_DEFAULT_UPSAMPLE,
      adjustThreshold: options.adjustThreshold ?? HOG_DEFAULT_ADJUST_THRESHOLD,
    }),
    // Not in other detectors' retry chains: the chain was measured without it, and a hog kit
    // already falls back to them.
    retryPasses: [],
    givesFivePoints: false,
    summary: "'hog' is dlib's HOG detector (face_recognition's default)",
    defaultPadding: 0,
  },
  mmod: {
    create: (runtime) => MmodDetector.create(runtime),
    models: () => ['mmod_face_detector'],
    checkOptions: (options, detector) => {
      if (options.upsample === undefined) return;
      if (detector !== 'mmod' && detector !== 'hog')
        throw invalidArgument('upsample', `upsample needs detector 'hog' or 'mmod' (or 'cnn'), got '${detector}'`);
      checkMmodUpsample(options.upsample);
    },
    ownOptions: (options) => ({ upsample: options.upsample ?? MMOD_DEFAULT_UPSAMPLE }),
    // Out of every retry chain: dlib's CNN is several times slower than the others (bench:detect);
    // a kit that starts with it still retries with them.
    retryPasses: [],
    givesFivePoints: false,
    summary: "'cnn' (also 'mmod') is dlib's CNN as face_recognition's --model cnn",
    defaultPadding: 0,
  },
} as const satisfies Readonly<Record<string, DetectorEntry>>;

export type DetectorName = keyof typeof DETECTORS;

/**
 * The detector a kit, a plain verb or a CLI command uses when none is named: the one place it is
 * written. MTCNN, chosen on measurements through the public API (bench/defaults.ts, issue 17):
 * precision 1.0 on dlib's detection photos where tiny boxed dogs and a gap between faces, the most
 * LFW photos with their face found, and tight face crops found once the photo is padded; tiny was
 * fastest but missed 13% of LFW photos and 49% of the faces in dlib's photos.
 */
export const DEFAULT_DETECTOR: DetectorName = 'mtcnn';

/** Whether a kit retries a miss with the other detectors when its options say nothing (see detectionAttempts). */
export const DEFAULT_RETRY_ON_MISS = true;

/** Every detector name, in DETECTORS' order. */
export const DETECTOR_NAMES = Object.keys(DETECTORS) as readonly DetectorName[];

/** face_recognition's spelling of a detector (`--model cnn`), accepted wherever a detector is named. */
export const DETECTOR_ALIASES = { cnn: 'mmod' } as const satisfies Record<string, DetectorName>;
export type DetectorAlias = keyof typeof DETECTOR_ALIASES;
/** Every name a caller may give: the detectors' own and face_recognition's aliases. */
export const DETECTOR_CHOICES: readonly (DetectorName | DetectorAlias)[] = [
  ...DETECTOR_NAMES,
  ...(Object.keys(DETECTOR_ALIASES) as DetectorAlias[]),
];

/** `value` as a detector name (an alias resolved), or INVALID_ARGUMENT naming `field` and the names there are. */
export function checkDetectorName(value: unknown, field = 'detector'): DetectorName {
  if (typeof value === 'string' && Object.hasOwn(DETECTORS, value)) return value as DetectorName;
  if (typeof value === 'string' && Object.hasOwn(DETECTOR_ALIASES, value))
    return DETECTOR_ALIASES[value as DetectorAlias];
  throw invalidArgument(
    field,
    `unknown detector "${String(value)}" (use ${DETECTOR_CHOICES.map((n) => `'${n}'`).join(', ')})`,
  );
}

export function detectorEntry(name: DetectorName): DetectorEntry {
  return DETECTORS[checkDetectorName(name)];
}
