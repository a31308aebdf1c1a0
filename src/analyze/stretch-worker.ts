// Worker-thread entry: reads one stretch of a console log for analyzeConsoleFile.
import { open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { readStretch } from './analyze-console.js';
import { fileChunks, type StretchJob } from './console-file.js';

const job = workerData as StretchJob;
const handle = await open(job.path, 'r');
try {
  parentPort?.postMessage(await readStretch(fileChunks(handle, job.start, job.end), job.start));
} finally {
  await handle.close();
}
