import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/kvm-run.js';
import { makeTree } from '../helpers/tmp-tree.js';

const bad = makeTree({ CFLIST: 'ONE\n', CFcommon: '', ONE: 'CONFIG_SMP=y\nFOO=bar\n' });
afterAll(() => bad.remove());

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { status, out, err };
}

describe('kvm-run on bad input', () => {
  it.each([
    [['--configs', 'NOPE07'], /unknown scenario "NOPE07".*available: .*UP01/],
    [['--duration', '5x'], /--duration "5x"/],
    [['--cpus', '0'], /--cpus 0: must be a whole number from 1/],
    [['--scenarios', '/nonexistent/scen'], /"\/nonexistent\/scen" does not exist/],
    [['--scenarios', bad.dir], /FOO=bar/],
  ])('%j exits 2 with one line naming the bad value, and touches nothing', async (argv, message) => {
    const { status, out, err } = await run(...argv, '--dryrun', 'batches');
    expect(status).toBe(2);
    expect(out).toEqual([]);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(message);
    expect(err[0]).toMatch(/^kvm-run: /);
  });

  it('prints its usage for --help and exits 0', async () => {
    const { status, out } = await run('--help');
    expect(status).toBe(0);
    expect(out.join('\n')).toContain('--configs');
  });
});
