import { type ChipTemplate, dlibChipTemplate, dlibChipTemplate5 } from '../align/templates.js';
import { DLIB_CHIP_SIZE, DLIB_DESCRIPTOR_SIZE } from '../models/dlibResnet128.js';

/**
 * What facekit knows about an embedder as plain data: no onnxruntime here, so the gallery, the
 * matcher and the clustering read an embedder's model id and thresholds without loading a network.
 */

/** How two descriptors are compared. Every embedder so far is trained for euclidean distance. */
export type Metric = 'euclidean';

/** Distances below which two faces count as one person, for this embedder's descriptor space. */
export interface EmbedderThresholds {
  /** compareFaces / verify / identify without a calibration. */
  readonly match: number;
  /** Clustering links: stricter than `match`, since links chain. */
  readonly cluster: number;
}

export interface EmbedderSpec {
  /** The name a kit's `embedder` option takes. */
  readonly name: string;
  /** The descriptor space: galleries store it and refuse to mix descriptors of different ones. */
  readonly modelId: string;
  /** Side of the square chip the network reads. */
  readonly chipSize: number;
  /** The chip layouts for 68-point and five-point alignment. */
  readonly template: () => ChipTemplate;
  readonly template5: () => ChipTemplate;
  readonly dimensions: number;
  readonly metric: Metric;
  readonly thresholds: EmbedderThresholds;
}

/** dlib's ResNet (face-api's FaceRecognitionNet): 150×150 chip → 128 floats. */
export const DLIB128: EmbedderSpec = {
  name: 'dlib128',
  /**
   * The same at either precision: the int8 encoder is this network quantized, its descriptors
   * about 0.04 from the fp32 ones (at most 0.05 on LFW; a pair's distance moves by 0.005 on
   * average, against the 0.6 threshold), so a gallery may hold and compare both.
   */
  modelId: 'dlib_resnet128',
  chipSize: DLIB_CHIP_SIZE,
  template: () => dlibChipTemplate(),
  template5: () => dlibChipTemplate5(),
  dimensions: DLIB_DESCRIPTOR_SIZE,
  metric: 'euclidean',
  thresholds: {
    /**
     * face_recognition's default: dlib's model was trained so that same-person pairs fall below
     * 0.6 euclidean distance (99.38% on LFW at that threshold).
     */
    match: 0.6,
    /**
     * One wrong link can join two people's clusters. Chosen on LFW people with 2-4 photos (best
     * pairwise F1 of the weighted graph, bench/cluster.ts --min-photos 2 --max-photos 4); the
     * benchmark reports people with >= 5 photos, a disjoint set.
     */
    cluster: 0.47,
  },
};

/** Model ids of embedders tuned by `facekit train` (src/embed/tuned.ts): this prefix, then the name. */
export const TUNED_ID_PREFIX = `${DLIB128.name}+`;

/** The embedder a kit uses when none is named. */
export const DEFAULT_EMBEDDER = DLIB128.name;

/** The default embedder's descriptor space: what a gallery opened without a model id stores. */
export const EMBEDDER_ID = DLIB128.modelId;
