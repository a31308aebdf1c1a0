import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread on one of this package's modules, given the URL of its
 * built `.js` file. Built code runs that file. Run from source (the tests under
 * vitest, scripts under tsx) there is only the `.ts` file, which plain Node
 * cannot load, so the worker registers tsx's loader before importing it.
 */
export function startModuleWorker(moduleUrl: URL, workerData: unknown): Worker {
  const file = fileURLToPath(moduleUrl);
  if (existsSync(file)) return new Worker(moduleUrl, { workerData });
  const source = file.replace(/\.js$/, '.ts');
  if (!existsSync(source)) throw new Error(`worker module not found: ${file}`);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(pathToFileURL(source).href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

/**
 * Node's arguments to run one of this package's modules (a file path) in a
 * child process: the file itself when built, with tsx's loader when it is the
 * `.ts` source.
 */
export function nodeArgsForModule(file: string): string[] {
  return file.endsWith('.ts') ? ['--import', import.meta.resolve('tsx'), file] : [file];
}

/** The first message a worker posts; an error if it fails or exits first. */
export function firstMessage<T>(worker: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} before answering`)));
  });
}
