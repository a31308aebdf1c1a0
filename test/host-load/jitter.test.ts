import { describe, expect, it } from 'vitest';
import { allowedCpus } from '../../src/host-load/affinity.js';
import { startJitter } from '../../src/host-load/jitter.js';
import { jitterProcesses, liveInGroup } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { nodeArgsForModule } from '../../src/util/module-worker.js';

const here = path.dirname(fileURLToPath(import.meta.url));

const settings = { processes: 3, maxSleepUs: 20_000, maxSpinUs: 2_000 };

describe('jitter processes', () => {
  it('run, hop onto single CPUs, and are all gone once stopped', async () => {
    const tag = `/tmp/jitter-test-${process.pid}-a`;
    const cpus = allowedCpus();
    const jitter = startJitter({ settings, count: 3, cpus, lifetimeSeconds: 60, runDir: tag });
    expect(jitter.pids).toHaveLength(3);
    // Each pins itself to one CPU of the list within its first round.
    await waitFor(() => {
      const live = jitterProcesses(tag);
      return live.length === 3 && live.every((p) => cpus.map(String).includes(p.cpus));
    }, 10_000);
    await jitter.stop();
    expect(jitterProcesses(tag)).toEqual([]);
    // Nothing they started (a sleep in progress) is left in their process groups either.
    for (const pid of jitter.pids) expect(liveInGroup(pid), `process group ${pid}`).toEqual([]);
  });

  it('end by themselves at their deadline, should nobody stop them', async () => {
    const tag = `/tmp/jitter-test-${process.pid}-b`;
    const jitter = startJitter({ settings, count: 2, cpus: allowedCpus(), lifetimeSeconds: 1, runDir: tag });
    await waitFor(() => jitterProcesses(tag).length === 0, 10_000);
    await jitter.stop();
  });

  it('end within a round when the process that started them is killed outright', async () => {
    const tag = `/tmp/jitter-test-${process.pid}-c`;
    const child = execa('node', [...nodeArgsForModule(path.join(here, 'jitter-main.ts')), tag], { reject: false });
    await waitFor(() => jitterProcesses(tag).length === 2, 20_000);
    child.kill('SIGKILL');
    await child;
    await waitFor(() => jitterProcesses(tag).length === 0, 10_000);
  }, 40_000);

  it('starting none starts nothing', async () => {
    const jitter = startJitter({ settings, count: 0, cpus: [0], lifetimeSeconds: 60, runDir: '/tmp/none' });
    expect(jitter.pids).toEqual([]);
    await jitter.stop();
  });
});
