/**
 * Entry of a benchmark worker thread: worker threads do not inherit the TypeScript loader
 * the suite process was started with, so each registers tsx before importing its module
 * (`workerData.entry`, a file URL).
 */
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
