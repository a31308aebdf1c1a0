import { describe, expect, it } from 'vitest';
import { classifyLine, countIds, jobOver, nodeUnusable, parseAllocationId, parseJob, sallocWords, stepWords } from '../../src/slurm/index.js';
import { guestCpus } from '../../src/farm/remote-guest.js';

describe('job step words and what a step says on stderr', () => {
  it('runs the program inside the fixed wrapper, one overlapping step on one node', () => {
    const words = stepWords({ jobId: '42', node: 'n1', cpus: 2 }, 'abc', ['qemu', '-smp', '2', "it's $(x)"]);
    expect(words.slice(0, 5)).toEqual(['srun', '--overlap', '--jobid=42', '--nodelist=n1', '--nodes=1']);
    expect(words).toContain('--cpus-per-task=2');
    // The program's words stay words: after `--`, the wrapper, the nonce, then each word untouched.
    expect(words.slice(words.indexOf('--') + 1).slice(3)).toEqual(['sh', 'abc', 'qemu', '-smp', '2', "it's $(x)"]);
  });

  it('reads the step id and end status only when they carry this step\'s nonce', () => {
    expect(classifyLine('KVMFARM_STEP n1 42.7', 'n1')).toEqual({ kind: 'step', stepId: '42.7' });
    expect(classifyLine('KVMFARM_END n1 0', 'n1')).toEqual({ kind: 'end', status: 0 });
    // A guest that prints a marker without the nonce cannot fake its end.
    expect(classifyLine('KVMFARM_END guess 0', 'n1')).toEqual({ kind: 'program', text: 'KVMFARM_END guess 0' });
    // Program output without a final newline runs into the wrapper's line: both are kept apart.
    expect(classifyLine('qemu: terminatingKVMFARM_END n1 0', 'n1')).toEqual({ kind: 'end', status: 0, before: 'qemu: terminating' });
  });

  it('knows srun\'s node failures from its other lines', () => {
    expect(classifyLine('srun: error: Node failure on n3', 'x')).toMatchObject({ kind: 'srun', nodeFault: true });
    expect(classifyLine('srun: Job step aborted: Waiting up to 32 seconds for job step to finish.', 'x')).toMatchObject({ kind: 'srun', nodeFault: true });
    expect(classifyLine('srun: warning: can\'t honor --ntasks-per-node', 'x')).toMatchObject({ kind: 'srun', nodeFault: false });
    expect(classifyLine('Node failure on n3', 'x')).toMatchObject({ kind: 'program' });
  });

  it('asks salloc for an allocation that survives a node failure, the user\'s words last', () => {
    expect(sallocWords({ sallocArgs: ['-p', 'debug', '-A', 'kern', '-C', 'avx2'] })).toEqual(
      ['salloc', '--no-shell', '--no-kill', '--job-name=kvm-farm', '-p', 'debug', '-A', 'kern', '-C', 'avx2']);
  });
});

describe('what Slurm says about the allocation', () => {
  const SHOW = [
    'JobId=17 JobName=kvm-farm',
    '   JobState=RUNNING Reason=None Dependency=(null)',
    '   NodeList=sn[1-3]',
    '     Nodes=sn1 CPU_IDs=0 Mem=0 GRES=',
    '     Nodes=sn[2-3] CPU_IDs=0-1 Mem=0 GRES=',
  ].join('\n');

  it('reads nodes and CPUs per node from scontrol show job -d', () => {
    expect(parseJob(SHOW)).toEqual({ jobId: '17', state: 'RUNNING', nodeList: 'sn[1-3]', groups: [{ nodes: 'sn1', cpus: 1 }, { nodes: 'sn[2-3]', cpus: 2 }] });
    expect(countIds('0-3,8,10-11')).toBe(7);
    expect(parseAllocationId('salloc: Pending job allocation 99\nsalloc: Granted job allocation 99\n')).toBe('99');
    expect(parseAllocationId('salloc: error: invalid partition')).toBeUndefined();
  });

  it('tells usable nodes and live jobs from the rest', () => {
    for (const s of ['DOWN', 'DOWN*', 'IDLE+NOT_RESPONDING', 'ALLOCATED+DRAIN', 'MIXED+FAIL']) expect(nodeUnusable(s.toUpperCase()), s).toBe(true);
    for (const s of ['IDLE', 'ALLOCATED', 'MIXED', 'ALLOCATED+COMPLETING']) expect(nodeUnusable(s), s).toBe(false);
    expect(jobOver('NODE_FAIL')).toBe(true);
    expect(jobOver('RUNNING')).toBe(false);
  });

  it('takes a guest\'s CPUs from its -smp word', () => {
    expect(guestCpus(['qemu', '-smp', '2'])).toBe(2);
    expect(guestCpus(['qemu', '-smp', 'cpus=4,sockets=1'])).toBe(4);
    expect(guestCpus(['qemu', '-m', '512'])).toBe(1);
  });
});
