import { describe, expect, it } from 'vitest';
import { buildQemuCommand, retargetQemuCommand } from '../../src/qemu/index.js';
import { getSuite } from '../../src/scenarios/suites.js';

const recorded = buildQemuCommand({
  accel: 'tcg',
  kernel: '/old/run/TREE01/bzImage',
  consoleLog: '/old/run/TREE01/console.log',
  cpus: 2,
  seconds: 1800,
  shutdownGraceSeconds: 180,
  bootArgs: ['rcutorture.nfakewriters=2'],
  suite: getSuite('rcu'),
  token: 'aaaa',
});
const append = (argv: string[]) => argv[argv.indexOf('-append') + 1]!;

describe('retargetQemuCommand', () => {
  it('points the command at the new directory with a fresh token and the new duration', () => {
    const next = retargetQemuCommand(recorded, { kernel: '/new/TREE01/bzImage', consoleLog: '/new/TREE01/console.log', seconds: 60 });
    expect(next.argv[next.argv.indexOf('-kernel') + 1]).toBe('/new/TREE01/bzImage');
    expect(next.argv).toContain('file:/new/TREE01/console.log');
    expect(next.argv.join(' ')).not.toContain('/old/run');
    expect(append(next.argv)).toContain('rcutorture.shutdown_secs=60');
    expect(append(next.argv)).not.toContain('shutdown_secs=1800');
    expect(next.token).not.toBe('aaaa');
    expect(append(next.argv).split(' ').filter((w) => w.startsWith('kvmfarm.token='))).toEqual([`kvmfarm.token=${next.token}`]);
    expect(next.settings).toMatchObject({ seconds: '60', KVMFARM_TOKEN: next.token, TORTURE_CPU_COUNT: '2', TORTURE_SHUTDOWN_GRACE: '180' });
    expect(next.cpus).toBe(2);
  });

  it('keeps the recorded duration when none is given, and adds boot arguments before the token', () => {
    const next = retargetQemuCommand(recorded, { kernel: '/k', consoleLog: '/c', bootArgs: ['rcutorture.gp_exp=1'], token: 'bbbb' });
    const words = append(next.argv).split(' ');
    expect(words).toContain('rcutorture.shutdown_secs=1800');
    expect(words.slice(-2)).toEqual(['rcutorture.gp_exp=1', 'kvmfarm.token=bbbb']);
    expect(next.settings.seconds).toBe('1800');
  });

  it('re-retargeting does not grow the command', () => {
    let command = retargetQemuCommand(recorded, { kernel: '/a', consoleLog: '/a.log' });
    for (let i = 0; i < 5; i++) command = retargetQemuCommand(command, { kernel: '/a', consoleLog: '/a.log', seconds: 30 });
    expect(command.argv.length).toBe(recorded.argv.length);
    expect(append(command.argv).split(' ').length).toBe(append(recorded.argv).split(' ').length);
  });

  it('switches the accelerator with the CPU model that goes with it', () => {
    const kvm = retargetQemuCommand(recorded, { kernel: '/k', consoleLog: '/c', accel: 'kvm' });
    expect(kvm.argv[kvm.argv.indexOf('-accel') + 1]).toBe('kvm');
    expect(kvm.argv[kvm.argv.indexOf('-cpu') + 1]).toBe('host');
    expect(kvm.settings.KVMFARM_ACCEL).toBe('kvm');
  });

  it('refuses a command it cannot rewrite', () => {
    expect(() => retargetQemuCommand({ argv: ['qemu-system-x86_64', '-m', '512'], settings: {} }, { kernel: '/k', consoleLog: '/c' })).toThrow(/-kernel/);
  });

  it('never runs the recorded first word: the architecture\'s qemu, or --qemu-cmd', () => {
    const hostile = { ...recorded, argv: ['/tmp/evil/qemu-system-x86_64', ...recorded.argv.slice(1)] };
    expect(retargetQemuCommand(hostile, { kernel: '/k', consoleLog: '/c' }).argv[0]).toBe('qemu-system-x86_64');
    expect(retargetQemuCommand(hostile, { kernel: '/k', consoleLog: '/c', qemuBinary: '/opt/q' }).argv[0]).toBe('/opt/q');
    const shell = { ...recorded, argv: ['sh', '-c', 'touch /tmp/pwned', ...recorded.argv.slice(1)] };
    expect(() => retargetQemuCommand(shell, { kernel: '/k', consoleLog: '/c' })).toThrow(/starts with "sh", not a qemu kvm-farm knows.*--qemu-cmd/);
  });

  it.each([
    [['-plugin', 'file=/tmp/evil.so']],
    [['-netdev', 'tap,id=n,script=/tmp/x']],
    [['-device', 'loader,file=/etc/shadow,addr=0x1000']],
    [['-initrd', '/home/me/.ssh/id_rsa']],
    [['-net', 'user']],
    [['-serial', 'stdio']],
    [['--chardev', 'socket,id=c,path=/run/x']],
    [['-machine', 'q35,dumpdtb=/home/me/.bashrc']],
  ])('refuses recorded words that run programs or open host files: %j', (words) => {
    const hostile = { ...recorded, argv: [...recorded.argv, ...words] };
    expect(() => retargetQemuCommand(hostile, { kernel: '/k', consoleLog: '/c' })).toThrow(/recorded qemu argument .* not rerun/);
  });
});
