// Starts jitter processes tagged argv[2] and then waits, so a test can SIGKILL this process.
import { allowedCpus } from '../../src/host-load/affinity.js';
import { startJitter } from '../../src/host-load/jitter.js';

const jitter = startJitter({ settings: { processes: 2, maxSleepUs: 200_000, maxSpinUs: 1_000 }, count: 2, cpus: allowedCpus(), lifetimeSeconds: 600, runDir: process.argv[2]! });
console.log(`started ${jitter.pids.join(' ')}`);
setInterval(() => {}, 1000);
