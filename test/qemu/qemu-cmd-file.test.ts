import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildQemuCommand, formatQemuCmdFile, parseQemuCmdFile, quoteWord, type QemuCommand } from '../../src/qemu/index.js';

const HOSTILE = [
  'has space',
  "it's",
  '"double"',
  '$(rm -rf /)',
  '`id`',
  'back\\slash',
  'new\nline',
  '',
  '#not-a-comment',
  "''",
  'tab\there',
  '*?[a]',
  '~user',
  'a;b&c|d>e<f',
  'ünïcødé',
];

describe('qemu-cmd file', () => {
  it('round-trips a built command exactly', () => {
    const cmd = buildQemuCommand({
      accel: 'tcg',
      kernel: '/res/2026.11.21/TREE01/bzImage',
      consoleLog: '/res/2026.11.21/TREE01/console.log',
      cpus: 2,
      seconds: 60,
      bootArgs: ['rcutorture.verbose=1'],
    });
    const text = formatQemuCmdFile(cmd);
    const lines = text.split('\n');
    expect(lines[0]!.startsWith('qemu-system-x86_64 -accel tcg ')).toBe(true);
    expect(lines.slice(1)).toEqual([
      '# TORTURE_SHUTDOWN_GRACE=180',
      '# seconds=60',
      '# TORTURE_CPU_COUNT=2',
      `# KVMFARM_TOKEN=${cmd.token}`,
      '# KVMFARM_ACCEL=tcg',
      '',
    ]);
    expect(parseQemuCmdFile(text)).toEqual({ argv: cmd.argv, settings: cmd.settings });
  });

  it('round-trips hostile arguments and setting values exactly', () => {
    const cmd: QemuCommand = {
      argv: ['/opt/my qemu/qemu=x', ...HOSTILE, '-append', HOSTILE.join(' ')],
      settings: Object.fromEntries(HOSTILE.map((v, i) => [`S${i}`, v])),
    };
    const text = formatQemuCmdFile(cmd);
    expect(parseQemuCmdFile(text)).toEqual(cmd);
    expect(parseQemuCmdFile(formatQemuCmdFile(parseQemuCmdFile(text)))).toEqual(cmd);
  });

  it('quotes so that sh reads back the same words', () => {
    const words = ['printf', '%s\\n', ...HOSTILE];
    const line = formatQemuCmdFile({ argv: words, settings: {} }).replace(/\n$/, '');
    const out = execFileSync('sh', ['-c', `${line}`], { encoding: 'utf8' });
    expect(out).toBe(HOSTILE.map((w) => `${w}\n`).join(''));
    expect(quoteWord('plain-word_1.2:3,4')).toBe('plain-word_1.2:3,4');
    // A leading A=b word would be an assignment to sh, so words with = are quoted.
    expect(quoteWord('a=5')).toBe("'a=5'");
  });

  it('reads rcutorture-written settings lines', () => {
    const text = [
      'qemu-system-x86_64 -enable-kvm -nographic -smp 2 -net none -machine q35,accel=kvm -cpu kvm64 -serial file:/r/TREE01/console.log -m 512 -kernel /r/TREE01/bzImage -append "debug_boot_weak_hash panic=-1 console=ttyS0 rcutorture.onoff_interval=200"',
      '# TORTURE_SHUTDOWN_GRACE=180',
      '# seconds=1800',
      '# TORTURE_KCONFIG_GDB_ARG=""',
      '# TORTURE_TRUST_MAKE=""; export TORTURE_TRUST_MAKE',
      '# TORTURE_CPU_COUNT=2',
      '',
    ].join('\n');
    const cmd = parseQemuCmdFile(text);
    expect(cmd.argv.at(-1)).toBe('debug_boot_weak_hash panic=-1 console=ttyS0 rcutorture.onoff_interval=200');
    expect(cmd.settings).toEqual({
      TORTURE_SHUTDOWN_GRACE: '180',
      seconds: '1800',
      TORTURE_KCONFIG_GDB_ARG: '',
      TORTURE_TRUST_MAKE: '',
      TORTURE_CPU_COUNT: '2',
    });
  });

  it('refuses a file with no command or with stray lines', () => {
    expect(() => parseQemuCmdFile('\n# seconds=1\n')).toThrow(/no command/);
    expect(() => parseQemuCmdFile('qemu -m 1\nrm -rf /\n')).toThrow(/unexpected line/);
    expect(() => parseQemuCmdFile("qemu 'open\n")).toThrow(/unterminated/);
  });
});
