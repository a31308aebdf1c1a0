import { describe, expect, it } from 'vitest';
import type { HostError } from '../../src/transport/index.js';
import { useFarm } from './farm-fixture.js';

// Keepalive every 1 s, 3 unanswered allowed: a dead link must be noticed in about 4 s.
const { farm, connect } = useFarm({ hosts: [{ name: 'h1', cpus: 1 }, { name: 'h2', cpus: 1 }], keepaliveIntervalS: 1, keepaliveCountMax: 3 });

describe('a connection that drops', () => {
  it('is reported as lost within the keepalive limits, and fails what was running', async () => {
    const host = await connect('h1');
    const other = await connect('h2');
    const lost = new Promise<{ error: HostError; at: number }>((resolve) => host.once('lost', (error) => resolve({ error, at: performance.now() })));
    const closed = new Promise<void>((resolve) => host.once('close', resolve));
    const running = host.run(['sleep', '60'], { timeoutMs: 60_000 });
    const helper = await host.spawn(['sleep', '60']);
    helper.stdout.resume();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const cut = performance.now();
    await farm().cutNetwork('h1');
    try {
      const { error, at } = await lost;
      const detectMs = at - cut;
      console.log(`keepalive 1 s x 3: loss detected after ${detectMs.toFixed(0)} ms`);
      expect(detectMs).toBeGreaterThan(2_000);
      expect(detectMs).toBeLessThan(6_000);
      expect(error).toMatchObject({ code: 'KVMFARM_HOST_UNREACHABLE', reason: 'lost' });
      expect(error.message).toMatch(/no answer to 3 keepalives, one every 1000 ms/);
      await closed;
      await expect(running).rejects.toMatchObject({ reason: 'lost' });
      await expect(helper.exited).rejects.toMatchObject({ reason: 'lost' });
      await expect(host.run(['true'], { timeoutMs: 1_000 })).rejects.toMatchObject({ reason: 'lost' });
      expect((await other.run(['hostname'], { timeoutMs: 5_000 })).stdout).toBe('h2\n');
    } finally {
      await farm().restoreNetwork('h1');
    }
    const back = await connect('h1');
    expect((await back.run(['hostname'], { timeoutMs: 5_000 })).stdout).toBe('h1\n');
  });

  it('emits close but not lost when closed on purpose', async () => {
    const host = await connect('h2');
    let lostSeen = false;
    host.on('lost', () => { lostSeen = true; });
    const closed = new Promise<void>((resolve) => host.once('close', resolve));
    await host.close();
    await closed;
    expect(lostSeen).toBe(false);
    await expect(host.run(['true'], { timeoutMs: 1_000 })).rejects.toMatchObject({ reason: 'closed' });
  });
});
