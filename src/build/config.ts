import type { KconfigSetting } from '../scenarios/types.js';

/** rcutorture's `--gdb` / `--debug-info` list (kvm.sh): a vmlinux gdb can read. */
export const DEBUG_INFO_SETTINGS: readonly string[] = [
  'CONFIG_DEBUG_INFO_NONE=n',
  'CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=y',
];

/** rcutorture's `--kasan` list (kvm.sh). */
export const KASAN_SETTINGS: readonly string[] = [
  'CONFIG_DEBUG_INFO_NONE=n',
  'CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=y',
  'CONFIG_KASAN=y',
];

/** rcutorture's `--kcsan` list (kvm.sh). */
export const KCSAN_SETTINGS: readonly string[] = [
  'CONFIG_DEBUG_INFO_NONE=n',
  'CONFIG_DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT=y',
  'CONFIG_KCSAN=y',
  'CONFIG_KCSAN_STRICT=y',
  'CONFIG_KCSAN_REPORT_ONCE_IN_MS=100000',
  'CONFIG_KCSAN_VERBOSE=y',
  'CONFIG_DEBUG_LOCK_ALLOC=y',
  'CONFIG_PROVE_LOCKING=y',
];

/** One named group of settings, applied after the groups before it. */
export interface ConfigLayer {
  /** Shown in ConfigFragment.input (`CFcommon`, `TREE01`, `--kconfig`). */
  name: string;
  settings: KconfigSetting[];
}

/** Everything that decides a scenario's settings, before any tool runs. */
export interface LayerInput {
  cfcommon: KconfigSetting[];
  scenarioName: string;
  scenario: KconfigSetting[];
  kconfig: KconfigSetting[];
  kasan: boolean;
  kcsan: boolean;
  /** `--debug-info` or `--gdb`. */
  debugInfo?: boolean;
  /** kvm-farm's own settings (the initramfs), applied last so nothing can undo them. */
  farm: KconfigSetting[];
}

/**
 * The layers in the order they apply; a later layer wins over an earlier one. The order
 * is CFcommon, the scenario's fragment, --kconfig, --debug-info, --kasan, --kcsan, then kvm-farm's own
 * settings. (rcutorture's kvm-test-1-run.sh applies --kconfig after --kasan/--kcsan.)
 */
export function configLayers(input: LayerInput): ConfigLayer[] {
  const canned = (name: string, lines: readonly string[]): ConfigLayer => ({
    name,
    settings: lines.map((line) => {
      const eq = line.indexOf('=');
      return { option: line.slice(0, eq), value: line.slice(eq + 1), origin: name };
    }),
  });
  const layers: ConfigLayer[] = [
    { name: 'CFcommon', settings: input.cfcommon },
    { name: input.scenarioName, settings: input.scenario },
    { name: '--kconfig argument', settings: input.kconfig },
  ];
  if (input.debugInfo) layers.push(canned('--debug-info options', DEBUG_INFO_SETTINGS));
  if (input.kasan) layers.push(canned('--kasan options', KASAN_SETTINGS));
  if (input.kcsan) layers.push(canned('--kcsan options', KCSAN_SETTINGS));
  layers.push({ name: 'kvm-farm', settings: input.farm });
  return layers.filter((layer) => layer.settings.length > 0);
}

/**
 * The settings that survive all layers, as rcutorture's config_override.sh leaves them:
 * a setting overridden later is dropped from its place and the later one kept in its own.
 */
export function mergeLayers(layers: ConfigLayer[]): KconfigSetting[] {
  let merged: KconfigSetting[] = [];
  for (const layer of layers) {
    const options = new Set(layer.settings.map((s) => s.option));
    merged = merged.filter((s) => !options.has(s.option));
    // Within one layer, too, the last line for an option wins.
    const last = new Map(layer.settings.map((s) => [s.option, s]));
    merged.push(...layer.settings.filter((s) => last.get(s.option) === s));
  }
  return merged;
}

/** The ConfigFragment file: one `CONFIG_X=value` line per merged setting. */
export function formatConfigFragment(settings: KconfigSetting[]): string {
  return settings.map((s) => `${s.option}=${s.value}\n`).join('');
}

/** The ConfigFragment.input file: each layer under a ` --- name` header, as rcutorture writes it. */
export function formatConfigFragmentInput(layers: ConfigLayer[]): string {
  return layers
    .map((layer) => ` --- ${layer.name}\n${formatConfigFragment(layer.settings)}`)
    .join('');
}

function settingLine(s: KconfigSetting): string {
  return s.value === 'n' ? `# ${s.option} is not set` : `${s.option}=${s.value}`;
}

/**
 * A .config with `settings` put in: every existing line for those options removed, then
 * the settings appended (`=n` as `# CONFIG_X is not set`). `make olddefconfig` afterwards
 * resolves dependencies, as rcutorture's configinit.sh does with `oldconfig`.
 */
export function applySettings(dotConfig: string, settings: KconfigSetting[]): string {
  const options = new Set(settings.map((s) => s.option));
  const kept = dotConfig.split('\n').filter((line) => {
    const option = optionOfLine(line);
    return option === undefined || !options.has(option);
  });
  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  return [...kept, ...settings.map(settingLine)].join('\n') + '\n';
}

function optionOfLine(line: string): string | undefined {
  const set = /^(CONFIG_[A-Za-z0-9_]+)=/.exec(line);
  if (set) return set[1];
  const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
  return unset?.[1];
}

/** Option → value of a .config; `# CONFIG_X is not set` reads as `n`. */
export function parseDotConfig(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const set = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set) {
      values.set(set[1]!, set[2]!);
      continue;
    }
    const unset = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset) values.set(unset[1]!, 'n');
  }
  return values;
}

/** A requested setting that the configured kernel does not have. */
export interface ConfigMismatch {
  option: string;
  /** The value asked for. */
  wanted: string;
  /** The value in .config; `n` for "is not set", null when .config does not mention the option at all (its dependencies are off, or no such option). */
  got: string | null;
  /** Where the request came from (`TREE01:3`, `--kconfig`, `TREE01:9 #CHECK#`). */
  origin: string;
}

/**
 * Compares every requested setting and every `#CHECK#` line with the .config that
 * configuration produced, as configcheck.sh does. An option absent from .config counts
 * as `n`.
 */
export function checkConfig(
  requested: KconfigSetting[],
  checks: KconfigSetting[],
  dotConfig: Map<string, string>,
): ConfigMismatch[] {
  const mismatches: ConfigMismatch[] = [];
  const compare = (s: KconfigSetting, origin: string) => {
    const got = dotConfig.get(s.option) ?? null;
    const effective = got ?? 'n';
    if (effective !== s.value) mismatches.push({ option: s.option, wanted: s.value, got, origin });
  };
  for (const s of requested) compare(s, s.origin);
  for (const s of checks) compare(s, `${s.origin} #CHECK#`);
  return mismatches;
}

/** The ConfigFragment.diags file: one line per mismatch, in configcheck.sh's words. */
export function formatMismatches(mismatches: ConfigMismatch[]): string {
  return mismatches
    .map(
      (m) =>
        `:${m.option}=${m.wanted}: improperly set: .config has ${m.got === null ? 'no such option (dependencies unmet?)' : `${m.option}=${m.got}`} (from ${m.origin})\n`,
    )
    .join('');
}
