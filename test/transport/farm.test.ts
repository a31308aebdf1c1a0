import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { requireReal } from '../helpers/require.js';
import { cleanupStaleFarms, createFarm } from './farm.js';

requireReal('farm');

async function leftovers(runId: string): Promise<string[]> {
  const netns = (await execa('ip', ['netns', 'list'])).stdout;
  const links = (await execa('ip', ['-o', 'link', 'show'])).stdout;
  return [...netns.split('\n'), ...links.split('\n')].filter((line) => line.includes(runId));
}

describe('the test farm harness', () => {
  it('cleans up after a crashed run, spares a live owner, and destroy stays safe', async () => {
    await cleanupStaleFarms();
    const farm = await createFarm({ hosts: [{ name: 'c1', cpus: 1 }, { name: 'c2', cpus: 1 }] });
    try {
      const sshd = farm.hosts.map((h) => h.sshd);
      expect((await leftovers(farm.runId)).length).toBeGreaterThanOrEqual(4);
      // A farm whose owner still lives (pid 1 here) belongs to someone else: left alone.
      writeFileSync(join(farm.dir, 'owner.pid'), '1');
      expect(await cleanupStaleFarms()).not.toContain(farm.runId);
      expect(existsSync(farm.dir)).toBe(true);
      // As after a crash: the owner is gone (this process does not count), so everything goes.
      writeFileSync(join(farm.dir, 'owner.pid'), String(process.pid));
      expect(await cleanupStaleFarms()).toContain(farm.runId);
      expect(await leftovers(farm.runId)).toEqual([]);
      expect(existsSync(farm.dir)).toBe(false);
      for (const child of sshd) expect(child.exitCode !== null || child.signalCode !== null).toBe(true);
    } finally {
      await farm.destroy();
      await farm.destroy();
    }
  });
});
