import { describe, expect, it } from 'vitest';
import { mergeSettings, parseBootFile, parseFragment, parseKconfigArgument } from '../../src/scenarios/fragment.js';

describe('parseFragment', () => {
  it('reads settings, checks, comments and the .config "is not set" form', () => {
    const parsed = parseFragment(
      [
        '# a comment',
        'CONFIG_SMP=y',
        '',
        'CONFIG_NR_CPUS=8',
        '#CHECK#CONFIG_TREE_RCU=y',
        'CONFIG_CMDLINE="a b"',
        '# CONFIG_PREEMPT is not set',
        'CONFIG_MODULES=m',
        'CONFIG_X_HEX=0x10',
      ].join('\n'),
      'TREE99',
    );
    expect(parsed.settings.map((s) => `${s.option}=${s.value}`)).toEqual([
      'CONFIG_SMP=y',
      'CONFIG_NR_CPUS=8',
      'CONFIG_CMDLINE="a b"',
      'CONFIG_PREEMPT=n',
      'CONFIG_MODULES=m',
      'CONFIG_X_HEX=0x10',
    ]);
    expect(parsed.checks).toEqual([{ option: 'CONFIG_TREE_RCU', value: 'y', origin: 'TREE99:5' }]);
    expect(parsed.settings[1]!.origin).toBe('TREE99:4');
  });

  it.each(['SMP=y', 'CONFIG_SMP', 'CONFIG_SMP=yes', 'CONFIG_SMP y', 'CONFIG_X="unterminated'])(
    'rejects "%s" naming file, line and text',
    (line) => {
      expect(() => parseFragment(`CONFIG_A=y\n${line}\n`, 'BAD01')).toThrow(
        new RegExp(`^BAD01:2: "${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" is not a Kconfig setting`),
      );
    },
  );
});

describe('parseKconfigArgument', () => {
  it('splits words and rejects a bad one', () => {
    expect(parseKconfigArgument(' CONFIG_A=y  CONFIG_B=4 ').map((s) => s.value)).toEqual(['y', '4']);
    expect(() => parseKconfigArgument('CONFIG_A=y oops')).toThrow('--kconfig: "oops" is not a Kconfig setting');
  });
});

describe('parseBootFile', () => {
  it('drops whole-line comments and joins lines into words', () => {
    expect(parseBootFile('# why\nmaxcpus=8 nr_cpus=43\n  rcutree.gp_init_delay=3\n\n')).toEqual([
      'maxcpus=8',
      'nr_cpus=43',
      'rcutree.gp_init_delay=3',
    ]);
  });
});

describe('mergeSettings', () => {
  it('lets later layers win', () => {
    const merged = mergeSettings(
      parseFragment('CONFIG_A=y\nCONFIG_B=y', 'common').settings,
      parseFragment('CONFIG_A=n', 'frag').settings,
    );
    expect(merged.get('CONFIG_A')?.value).toBe('n');
    expect(merged.get('CONFIG_B')?.value).toBe('y');
  });
});

describe('#BASE# lines', () => {
  it('name the config base of a small scenario', () => {
    expect(parseFragment('#BASE#=tinyconfig\nCONFIG_SMP=n\n', 'S').base).toBe('tinyconfig');
    expect(parseFragment('CONFIG_SMP=n\n', 'S').base).toBeUndefined();
  });
});
