import { describe, expect, it } from 'vitest';
import { parseKvmRemoteArgs } from '../../src/cli/kvm-remote.js';
import { splitWords } from '../../src/cli/slurm-args.js';
import { resolveRemoteSettings } from '../../src/options/resolve-remote.js';

describe('kvm-remote --slurm "SALLOC ARGS"', () => {
  it('passes salloc\'s words through and parses the rest as with a host list', async () => {
    const options = await parseKvmRemoteArgs(['--slurm', '-p debug --account=kern -C "avx2&intel" -N 4 --exclusive', '--configs', '2*UP01-SMALL', '--duration', '30s', '--retries', '2'], {});
    expect(options.hosts).toEqual([]);
    expect(options.slurm).toEqual({ sallocArgs: ['-p', 'debug', '--account=kern', '-C', 'avx2&intel', '-N', '4', '--exclusive'] });
    expect(options.source).toMatchObject({ kind: 'build', options: { configs: '2*UP01-SMALL', durationSeconds: 30 } });
    expect(options.retries).toBe(2);
    expect(() => resolveRemoteSettings(options)).not.toThrow();
  });

  it('reruns an earlier run, and uses the allocation it runs inside when given no salloc words', async () => {
    const options = await parseKvmRemoteArgs(['--slurm=', 'res/2026.11.21-10.00.00', '--duration', '10s'], { SLURM_JOB_ID: '1234' });
    expect(options.slurm).toEqual({ sallocArgs: [], jobId: '1234' });
    expect(options.source).toMatchObject({ kind: 'again', options: { runDir: 'res/2026.11.21-10.00.00' } });
  });

  it('refuses what it cannot use, in one line', async () => {
    await expect(parseKvmRemoteArgs(['--slurm'], {})).rejects.toThrow(/--slurm needs salloc's arguments as one word/);
    await expect(parseKvmRemoteArgs(['--slurm', '-p "debug'], {})).rejects.toThrow(/the quote " is not closed/);
    expect(() => resolveRemoteSettings({ hosts: ['h1'], slurm: { sallocArgs: [] } })).toThrow(/drop the host list "h1"/);
  });

  it('splits words without expanding anything', () => {
    expect(splitWords(`a 'b c' "d \\"e\\" $x" f\\ g $(touch /tmp/x) ;`)).toEqual(['a', 'b c', 'd "e" $x', 'f g', '$(touch', '/tmp/x)', ';']);
    expect(splitWords('  ')).toEqual([]);
    expect(splitWords("''")).toEqual(['']);
  });
});
