import { describe, expect, it } from 'vitest';
import { parseKvmRunArgs } from '../../src/cli/run-args.js';
import { resolveRunOptions } from '../../src/options/resolve-run.js';

describe("kvm-run's --jitter, --no-affinity and --kill-previous", () => {
  it('take kvm.sh values, a leading "-" included', async () => {
    const { input } = await parseKvmRunArgs(['--jitter', '-1', '--no-affinity', '--kill-previous']);
    expect(input).toMatchObject({ jitter: '-1', noAffinity: true, killPrevious: true });
    const quoted = await parseKvmRunArgs(['--jitter', '3 200000 500']);
    expect(resolveRunOptions(quoted.input).jitter).toEqual({ processes: 3, maxSleepUs: 200_000, maxSpinUs: 500 });
  });

  it('default to kvm.sh: jitter one per CPU, guests pinned, a held lock refused', async () => {
    const { input } = await parseKvmRunArgs([]);
    const options = resolveRunOptions(input);
    expect(options).toMatchObject({ noAffinity: false, killPrevious: false, jitter: { processes: -1 } });
  });

  it('refuse a bad --jitter with one line naming it', async () => {
    const { input } = await parseKvmRunArgs(['--jitter', 'lots']);
    expect(() => resolveRunOptions(input)).toThrow('--jitter "lots": "lots" is not a whole number');
  });
});
