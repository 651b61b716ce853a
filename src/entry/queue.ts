/**
 * facekit/queue: work as jobs on Redis (BullMQ) — enrolment of a folder, analysis of a photo
 * archive (what `cluster --queue` spreads), and cameras handed to workers — submitted, followed
 * and run by workers.
 */
export { redisConnection } from '../queue/connection.js';
export { submitEnrollJobs, waitForJobs } from '../queue/enroll-jobs.js';
export { analysisResults, submitAnalyzeJobs, waitForAnalysis } from '../queue/analyze-jobs.js';
export type { AnalyzeProgress, AnalyzeSubmitted, PhotoRef } from '../queue/analyze-jobs.js';
export { startAnalyzeWorker, startEnrollWorker, startIndexWorker } from '../queue/worker.js';
export { indexProgress, submitIndexJobs, waitForIndexJobs } from '../queue/index-jobs.js';
export type { IndexJobResult, IndexProgress } from '../queue/index-jobs.js';
export { cameraEvents, cameraStatus, stopWatchJobs, submitWatchJobs, watchJobId } from '../queue/watch-jobs.js';
export type { CameraStatus, WatchJobResult, WatchJobSettings } from '../queue/watch-jobs.js';
export { startWatchWorker } from '../queue/watch-worker.js';
