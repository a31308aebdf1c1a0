// Holds the run lock of argv[2] (tree) in argv[3] (results) until SIGINT, as a run would; "ignore-int" keeps holding.
import { acquireRunLock } from '../../src/rundir/run-lock.js';

const [tree, results, mode] = process.argv.slice(2);
const lock = await acquireRunLock({ kernelTree: tree!, results: results!, killPrevious: false, log: () => {} });
lock.recordRunDir(`${results}/held-run`);
console.log('locked');
process.on('SIGINT', () => {
  if (mode === 'ignore-int') return;
  lock.release();
  process.exit(130);
});
setInterval(() => {}, 1000);
