import { describe, expect, it } from 'vitest';
import {
  applySettings,
  checkConfig,
  configLayers,
  formatConfigFragment,
  formatConfigFragmentInput,
  formatMismatches,
  mergeLayers,
  parseDotConfig,
} from '../../src/build/config.js';
import type { KconfigSetting } from '../../src/scenarios/types.js';

const s = (text: string, origin: string): KconfigSetting[] =>
  text
    .split(' ')
    .filter((w) => w !== '')
    .map((w, i) => ({ option: w.slice(0, w.indexOf('=')), value: w.slice(w.indexOf('=') + 1), origin: `${origin}:${i + 1}` }));

const layerInput = {
  cfcommon: s('CONFIG_A=y CONFIG_B=y CONFIG_C=1', 'CFcommon'),
  scenarioName: 'TREE01',
  scenario: s('CONFIG_B=n CONFIG_D=y', 'TREE01'),
  kconfig: s('CONFIG_C=2 CONFIG_KASAN=n', '--kconfig'),
  kasan: true,
  kcsan: false,
  farm: s('CONFIG_INITRAMFS_SOURCE="/c/initramfs.cpio"', 'kvm-farm'),
};

describe('configLayers and mergeLayers', () => {
  it('apply CFcommon, scenario, --kconfig, --kasan, kvm-farm in that order, later winning', () => {
    const layers = configLayers(layerInput);
    expect(layers.map((l) => l.name)).toEqual(['CFcommon', 'TREE01', '--kconfig argument', '--kasan options', 'kvm-farm']);
    const merged = mergeLayers(layers);
    const value = (option: string) => merged.find((m) => m.option === option)?.value;
    expect(value('CONFIG_B')).toBe('n');
    expect(value('CONFIG_C')).toBe('2');
    expect(value('CONFIG_KASAN')).toBe('y'); // --kasan comes after --kconfig
    expect(merged.filter((m) => m.option === 'CONFIG_C')).toHaveLength(1);
  });

  it('keeps config_override.sh order: survivors in place, overriders appended', () => {
    const merged = mergeLayers(configLayers({ ...layerInput, kasan: false }));
    expect(formatConfigFragment(merged)).toBe(
      'CONFIG_A=y\nCONFIG_B=n\nCONFIG_D=y\nCONFIG_C=2\nCONFIG_KASAN=n\nCONFIG_INITRAMFS_SOURCE="/c/initramfs.cpio"\n',
    );
  });

  it('lets the last line of one layer win within the layer', () => {
    expect(mergeLayers([{ name: 'x', settings: s('CONFIG_A=y CONFIG_A=n', 'x') }])).toEqual([
      { option: 'CONFIG_A', value: 'n', origin: 'x:2' },
    ]);
  });

  it('adds the kcsan list and skips empty layers', () => {
    const layers = configLayers({ ...layerInput, cfcommon: [], kasan: false, kcsan: true });
    expect(layers.map((l) => l.name)).toEqual(['TREE01', '--kconfig argument', '--kcsan options', 'kvm-farm']);
    expect(layers[2]!.settings.map((x) => x.option)).toContain('CONFIG_PROVE_LOCKING');
  });

  it('writes ConfigFragment.input with a header per layer', () => {
    const text = formatConfigFragmentInput(configLayers({ ...layerInput, kasan: false }));
    expect(text).toContain(' --- TREE01\nCONFIG_B=n\nCONFIG_D=y\n');
  });
});

const DOT = `#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_A=y
# CONFIG_B is not set
CONFIG_C=1
CONFIG_STR="hello"
`;

describe('applySettings', () => {
  it('replaces set and unset lines of the given options and appends the settings', () => {
    const out = applySettings(DOT, s('CONFIG_A=n CONFIG_B=y CONFIG_NEW=3', 'f'));
    expect(out).not.toMatch(/^CONFIG_A=y$/m);
    expect(out).not.toMatch(/^# CONFIG_B is not set$/m);
    expect(out.endsWith('CONFIG_C=1\nCONFIG_STR="hello"\n# CONFIG_A is not set\nCONFIG_B=y\nCONFIG_NEW=3\n')).toBe(true);
  });
});

describe('checkConfig', () => {
  const dot = parseDotConfig(DOT);

  it('reads "is not set" as n', () => {
    expect(dot.get('CONFIG_B')).toBe('n');
    expect(dot.get('CONFIG_STR')).toBe('"hello"');
  });

  it('reports each requested setting the .config lacks, naming the option, and #CHECK# lines too', () => {
    const mismatches = checkConfig(
      s('CONFIG_A=y CONFIG_B=y CONFIG_C=2 CONFIG_GONE=y CONFIG_ABSENT=n CONFIG_STR="hello"', 'TREE01'),
      s('CONFIG_A=n', 'TREE01'),
      dot,
    );
    expect(mismatches).toEqual([
      { option: 'CONFIG_B', wanted: 'y', got: 'n', origin: 'TREE01:2' },
      { option: 'CONFIG_C', wanted: '2', got: '1', origin: 'TREE01:3' },
      { option: 'CONFIG_GONE', wanted: 'y', got: null, origin: 'TREE01:4' },
      { option: 'CONFIG_A', wanted: 'n', got: 'y', origin: 'TREE01:1 #CHECK#' },
    ]);
    const text = formatMismatches(mismatches);
    expect(text).toContain(':CONFIG_GONE=y: improperly set');
    expect(text.split('\n')).toHaveLength(5);
  });
});
