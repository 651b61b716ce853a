/** facekit/queue: enrolment as jobs on Redis (BullMQ) — submit a folder, follow it, run workers. */
export { redisConnection } from '../queue/connection.js';
export { submitEnrollJobs, waitForJobs } from '../queue/enroll-jobs.js';
export { startEnrollWorker } from '../queue/worker.js';
