import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/kvm-run.js';

async function script(...argv: string[]): Promise<string> {
  const out: string[] = [];
  const status = await main([...argv, '--dryrun', 'script'], { out: (l) => out.push(l), err: (l) => out.push(l) });
  expect(status).toBe(0);
  return out.join('\n');
}

describe('kvm-run --dryrun script', () => {
  it('shows the qemu command a real run writes, hotplug parameters included', async () => {
    const text = await script('--configs', 'TREE04C UP01', '--cpus', '8');
    const qemuLines = text.split('\n').filter((l) => l.startsWith('qemu-system-x86_64'));
    expect(qemuLines).toHaveLength(2);
    // TREE04C enables CPU hotplug, so rcutorture's onoff parameters go on its boot line; UP01's has none.
    expect(qemuLines.filter((l) => l.includes('rcutorture.onoff_interval='))).toHaveLength(1);
    expect(text).toContain('kvmfarm.token=TOKEN');
  });
});
